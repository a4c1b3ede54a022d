"""E-mail texts per document kind, reminder tone and language, rendered by Flask's templates.

Most documents here are built in memory (never flushed): the texts read nothing else from the
database. One issued invoice goes through the services to prove the real snapshots fit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from babel.numbers import format_currency

from saas.billing.customers.models import Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.emails import (
    EmailContent,
    document_email,
    reminder_email,
    unpaid_notice_email,
)
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.reminders.letter import DEMAND, FRIENDLY, REMINDER, DemandLetter, OpenItem
from saas.extensions import db
from saas.tenants import scoping
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory

K = DocumentKind
PORTAL = "https://app.example/p/acme/d/Xy7abc"
SELLER = {
    "name": "Acme Ltd", "address_lines": ["1 High Street", "AB1 2CD Leeds"], "country": "GB",
    "org_number": "01234567", "vat_id": "GB123456789",
    "bank_accounts": [{"label": "Main", "iban": "GB33BUKB20201555555555", "bic": "BUKBGB22",
                       "bban": "", "currency": "EUR"}],
    "primary_color": "#0a7d44", "footer_text": "Acme Ltd · Registered in England 01234567",
    "logo_sha256": None,
}
EVIL = "<script>alert('x')</script> Ltd"
BUYER = {"customer_number": 10001, "name": EVIL, "address_lines": ["Storgata 1", "0155 Oslo"],
         "country": "NO", "org_number": "", "vat_id": "", "email": "ap@buyer.example"}


@pytest.fixture()
def ctx(app):
    with app.app_context():
        yield


def document(kind: DocumentKind = K.INVOICE, language: str = "en", **values) -> Document:
    fields = dict(
        kind=kind, number="INV-2026-00012", language=language, currency="EUR",
        tenant_currency="EUR", issue_date=date(2026, 11, 16), due_date=date(2026, 11, 30),
        valid_until=None, gross_total=Decimal("1234.50"), payment_reference="RF18539007547034",
        seller=SELLER, buyer=BUYER,
    )
    fields.update(values)
    return Document(**fields)


def money(amount: str, language: str) -> str:
    locale = {"en": "en_GB", "pl": "pl_PL"}[language]
    return format_currency(Decimal(amount), "EUR", locale=locale)


class _Visible(HTMLParser):
    """The text a reader sees, and whether the HTML runs or fetches anything."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.links: list[str] = []
        self.fetches: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "a":
            self.links.append(values.get("href", ""))
        for name in ("src", "srcset", "background"):
            if values.get(name):
                self.fetches.append(values[name])
        if tag == "link":
            self.fetches.append(values.get("href", ""))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Visible:
    parser = _Visible()
    parser.feed(html)
    return parser


# --- Documents ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, language, subject", [
    (K.QUOTE, "en", "Quote INV-2026-00012 from Acme Ltd"),
    (K.ORDER, "en", "Order confirmation INV-2026-00012 from Acme Ltd"),
    (K.PROFORMA, "en", "Proforma invoice INV-2026-00012 from Acme Ltd"),
    (K.INVOICE, "en", "Invoice INV-2026-00012 from Acme Ltd"),
    (K.CREDIT_NOTE, "en", "Credit note INV-2026-00012 from Acme Ltd"),
    (K.QUOTE, "pl", "Oferta INV-2026-00012 od Acme Ltd"),
    (K.ORDER, "pl", "Potwierdzenie zamówienia INV-2026-00012 od Acme Ltd"),
    (K.PROFORMA, "pl", "Faktura proforma INV-2026-00012 od Acme Ltd"),
    (K.INVOICE, "pl", "Faktura INV-2026-00012 od Acme Ltd"),
    (K.CREDIT_NOTE, "pl", "Faktura korygująca INV-2026-00012 od Acme Ltd"),
])
def test_the_subject_names_the_document_its_number_and_the_seller(ctx, kind, language, subject):
    content = document_email(document(kind, language))
    assert isinstance(content, EmailContent)
    assert content.subject == subject


@pytest.mark.parametrize("language, sentence", [
    ("en", "The quote is valid until 31 Dec 2026."),
    ("pl", "Oferta jest ważna do 31 gru 2026."),
])
def test_a_quote_says_until_when_it_is_valid_and_asks_for_acceptance(ctx, language, sentence):
    content = document_email(document(K.QUOTE, language, due_date=None,
                                      valid_until=date(2026, 12, 31)))
    assert sentence in content.text
    assert sentence in content.html
    accept = {"en": "To accept the quote, simply reply to this e-mail.",
              "pl": "Aby przyjąć ofertę, wystarczy odpowiedzieć na tę wiadomość."}[language]
    assert accept in content.text


@pytest.mark.parametrize("language, due_label, due", [
    ("en", "Due date", "30 Nov 2026"),
    ("pl", "Termin płatności", "30 lis 2026"),
])
def test_an_invoice_gives_the_amount_due_date_and_payment_reference(
    ctx, language, due_label, due
):
    content = document_email(document(K.INVOICE, language))
    amount = money("1234.50", language)
    assert amount in content.text
    assert f"{due_label}: {due}" in content.text
    assert "RF18539007547034" in content.text
    assert "GB33 BUKB 2020 1555 5555 55" in content.text  # the IBAN to pay to
    visible = " ".join(parse(content.html).text)
    assert amount in visible and due in visible and "RF18539007547034" in visible


def test_an_order_confirmation_confirms_the_order(ctx):
    content = document_email(document(K.ORDER, "en", number="OC-2026-0003", due_date=None))
    assert "Thank you for your order." in content.text
    assert "We hereby confirm it as set out in the attached order confirmation OC-2026-0003." \
        in content.text
    assert "Payment reference" not in content.text


def test_a_proforma_asks_for_prepayment(ctx):
    content = document_email(document(K.PROFORMA, "pl", number="PRO/2026/5"))
    assert (f"Prosimy o przedpłatę kwoty {money('1234.50', 'pl')} do dnia 30 lis 2026."
            in content.text)
    assert "Fakturę końcową wystawimy po otrzymaniu płatności." in content.text


def test_a_credit_note_says_the_amount_is_credited(ctx):
    content = document_email(document(K.CREDIT_NOTE, "en", number="CN-2026-0001",
                                      gross_total=Decimal("-250.00"), due_date=None))
    assert "The amount of €250.00 has been credited to your account." in content.text
    assert "-€250.00" not in content.text and "Amount due" not in content.text


def test_the_html_escapes_a_customer_name_with_markup(ctx):
    content = document_email(document(K.INVOICE, "en"))
    assert "<script>" not in content.html
    assert "&lt;script&gt;" in content.html
    parsed = parse(content.html)
    assert "script" not in parsed.tags
    assert EVIL in " ".join(parsed.text)  # shown as written
    assert EVIL in content.text  # the text part is plain text, nothing to escape


def test_the_portal_link_appears_only_when_given(ctx):
    with_link = document_email(document(K.INVOICE, "en"), portal_url=PORTAL, pay_online=True)
    without = document_email(document(K.INVOICE, "en"))
    assert parse(with_link.html).links == [PORTAL]
    assert f"View and pay online: {PORTAL}" in with_link.text
    assert parse(without.html).links == []
    assert "View and pay online" not in without.text + without.html
    quote = document_email(document(K.QUOTE, "pl"), portal_url=PORTAL, pay_online=True)
    assert f"Zobacz online: {PORTAL}" in quote.text  # nothing to pay on a quote


def test_the_button_offers_payment_only_where_the_tenant_takes_it_online(ctx):
    invoice = document_email(document(K.INVOICE, "en"), portal_url=PORTAL)
    assert f"View online: {PORTAL}" in invoice.text and "pay online" not in invoice.text


def test_a_quote_with_a_portal_link_is_answered_online(ctx):
    online = document_email(document(K.QUOTE, "en"), portal_url=PORTAL).text
    by_mail = document_email(document(K.QUOTE, "en")).text
    assert "accept or decline the quote online" in online and "reply to" not in online
    assert "To accept the quote, simply reply to this e-mail." in by_mail


def test_a_portal_link_must_be_a_web_address(ctx):
    with pytest.raises(ValueError):
        document_email(document(K.INVOICE, "en"), portal_url="javascript:alert(1)")


def test_the_html_layout_is_branded_and_self_contained(ctx):
    branding = SimpleNamespace(primary_color="#123abc", footer_text="Footer of the brand",
                               email_sender_name="Acme Billing")
    html = document_email(document(K.INVOICE, "en"), branding=branding).html
    parsed = parse(html)
    assert "background-color:#123abc" in html  # the header bar in the tenant's colour
    assert "Acme Billing" in parsed.text and "Footer of the brand" in " ".join(parsed.text)
    assert parsed.fetches == [] and "script" not in parsed.tags
    assert "<style" not in html  # inline CSS only, which mail clients keep


def test_a_colour_that_is_not_a_colour_never_reaches_the_css(ctx):
    branding = SimpleNamespace(primary_color="red;background:url(x)", footer_text="",
                               email_sender_name="")
    html = document_email(document(K.INVOICE, "en"), branding=branding).html
    assert "url(x)" not in html
    assert "background-color:#1f4e79" in html  # the default colour instead


def test_an_issued_polish_invoice_from_the_services(db_session, app):
    tenant = TenantFactory(name="Biuro Kasia Sp. z o.o.", country="PL", currency="PLN")
    customer_id = CustomerFactory(tenant=tenant, name="Łódź <Serwis>", language="pl",
                                  currency="PLN").id
    vat_id = VatRateFactory(tenant=tenant, rate=Decimal(23)).id
    with scoping.tenant_context(tenant.id):
        customer = db.session.get(Customer, customer_id)
        invoice = services.create_document(K.INVOICE, customer)
        services.add_line(invoice, {"description": "Usługa", "quantity": Decimal(1),
                                    "unit_price": Decimal("100"), "vat_rate_id": vat_id})
        issuing.issue_document(invoice)
        content = document_email(invoice, portal_url=PORTAL)
    assert content.subject == f"Faktura {invoice.number} od Biuro Kasia Sp. z o.o."
    assert f"W załączeniu przesyłamy fakturę {invoice.number}." in content.text
    total = format_currency(Decimal("123.00"), "PLN", locale="pl_PL")
    assert f"Kwota do zapłaty: {total}" in content.text
    assert "Łódź &lt;Serwis&gt;" in content.html
    assert 'lang="pl"' in content.html


# --- Reminders --------------------------------------------------------------------------------


LETTER = DemandLetter(
    language="en", currency="EUR", tone=REMINDER, level_name="Second reminder", message="",
    letter_date=date(2026, 12, 10), seller=SELLER, buyer=BUYER,
    invoice_number="INV-2026-00012", invoice_due=date(2026, 11, 30),
    items=(OpenItem("INV-2026-00012", date(2026, 11, 16), date(2026, 11, 30),
                    Decimal("1234.50"), 10),
           OpenItem("INV-2026-00020", date(2026, 12, 1), date(2026, 12, 15),
                    Decimal("100.00"), 0)),
    fee=Decimal("7.50"), interest=Decimal("3.04"), interest_days=10,
    interest_rate=Decimal("9"), payment_reference="RF18539007547034",
)


@pytest.mark.parametrize("tone, subject, opening", [
    (FRIENDLY, "Payment reminder: invoice INV-2026-00012 from Acme Ltd",
     "We would like to remind you that invoice INV-2026-00012 is due for payment."),
    (REMINDER, "Payment reminder: invoice INV-2026-00012 from Acme Ltd",
     "According to our records, invoice INV-2026-00012 has not been paid by its due date."),
    (DEMAND, "Payment demand: invoice INV-2026-00012 from Acme Ltd",
     "We hereby formally demand payment of the total due shown below."),
])
def test_a_reminder_is_worded_by_its_tone(ctx, tone, subject, opening):
    content = reminder_email(replace(LETTER, tone=tone))
    assert content.subject == subject
    assert opening in content.text and opening in content.html
    assert ("debt collection" in content.text) == (tone == DEMAND)
    assert ("please disregard this reminder" in content.text) == (tone != DEMAND)


def test_a_reminder_lists_the_open_items_charges_and_total_due(ctx):
    content = reminder_email(LETTER)
    for shown in (content.text, " ".join(parse(content.html).text)):
        assert "INV-2026-00012" in shown and "INV-2026-00020" in shown
        assert "€1,234.50" in shown and "€100.00" in shown
        assert "Reminder fee" in shown and "€7.50" in shown
        assert "Interest on late payment (10 days at 9% a year)" in shown
        assert "€1,345.04" in shown  # 1234.50 + 100.00 + 7.50 + 3.04
    assert "Total due: €1,345.04" in content.text
    assert "the invoices themselves remain unchanged" in content.text


def test_a_reminder_says_what_is_attached(ctx):
    content = reminder_email(LETTER)
    assert ("A copy of invoice INV-2026-00012 and this reminder as a letter (PDF) are"
            " attached.") in content.text


def test_a_reminder_without_charges_has_no_charge_lines(ctx):
    content = reminder_email(replace(LETTER, fee=Decimal(0), interest=Decimal(0)))
    assert "Reminder fee" not in content.text and "Interest" not in content.text
    assert "Total due: €1,334.50" in content.text


def test_a_polish_demand_email(ctx):
    content = reminder_email(replace(LETTER, language="pl", tone=DEMAND), portal_url=PORTAL)
    assert content.subject == "Wezwanie do zapłaty: faktura INV-2026-00012 od Acme Ltd"
    assert f"Razem do zapłaty: {money('1345.04', 'pl')}" in content.text
    assert "w terminie 7 dni" in content.text
    assert parse(content.html).links == [PORTAL]


def test_the_tenants_own_message_opens_the_reminder(ctx):
    content = reminder_email(replace(LETTER, message="Dear customer, <b>please</b> pay."))
    assert "Dear customer, <b>please</b> pay." in content.text
    assert "Dear customer, &lt;b&gt;please&lt;/b&gt; pay." in content.html
    assert "According to our records" not in content.text


# --- To the tenant's staff ---------------------------------------------------------------------


def test_the_unpaid_notice_lists_every_row(ctx):
    rows = [
        {"customer": "Fjord & Sons AS", "number": "INV-2026-00012", "due_date": "30 Nov 2026",
         "amount": "€1,234.50", "url": "https://app.example/t/acme/documents/12"},
        {"customer": "<b>Bold</b> GmbH", "number": "INV-2026-00020", "due_date": "15 Dec 2026",
         "amount": "€100.00", "url": "https://app.example/t/acme/documents/20"},
    ]
    content = unpaid_notice_email("Acme Ltd", rows, "https://app.example/t/acme/reminders")
    assert "2 invoices still unpaid after the last reminder" in content.subject
    assert "These customers have still not paid after the last reminder" in content.text
    for row in rows:
        for key in ("customer", "number", "due_date", "amount", "url"):
            assert row[key] in content.text
    parsed = parse(content.html)
    assert parsed.links == [rows[0]["url"], rows[1]["url"],
                            "https://app.example/t/acme/reminders"]
    assert "&lt;b&gt;Bold&lt;/b&gt; GmbH" in content.html
    assert "Fjord &amp; Sons AS" in content.html
