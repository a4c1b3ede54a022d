"""Payment references (R6.2): made at issue under the tenant's scheme, printed, kept."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from saas.billing.contracts import billing
from saas.billing.contracts import services as contracts
from saas.billing.contracts.models import BillingRun, RunStatus
from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing, pdf_content, printing, services
from saas.billing.documents.cli import verify_kind
from saas.billing.documents.emails import document_email
from saas.billing.documents.models import Document
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments import references as r
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role, Tenant
from tests.factories import (
    BankAccountFactory,
    CustomerFactory,
    TenantFactory,
    VatRateFactory,
    member,
)
from tests.helpers import errors_in, run_jobs

K, S = DocumentKind, DocumentStatus
D = Decimal
ISSUE_DAY = date(2026, 11, 20)
CUSTOMER_NUMBER = 10042


@pytest.fixture()
def shop(db_session):
    """A Norwegian tenant with one customer (number 10042), a 25 % rate and an account."""
    tenant = TenantFactory(name="Fjord Rør AS", currency="NOK")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        vat = VatRateFactory(tenant=tenant, code="S25", rate=D("25"))
        customer = CustomerFactory(tenant=tenant, name="Havbris Hotell AS",
                                   number=CUSTOMER_NUMBER, currency="NOK")
        BankAccountFactory(tenant=tenant, iban="NO9386011117947", currency="NOK",
                           is_default=True)
        ids = SimpleNamespace(tenant=tenant, owner=owner, vat=vat.id, customer=customer.id)
    # The test goes on inside the tenant (issued documents are read back after commits).
    scoping.set_current_tenant(tenant.id)
    return ids


def use(shop, scheme: str, length: int = 10) -> None:
    tenant = db.session.get(Tenant, shop.tenant.id)
    tenant.reference_scheme, tenant.reference_length = scheme, length
    db.session.commit()


def draft(shop, kind=K.INVOICE, reference: str = "", customer_id: int | None = None,
          currency: str | None = None) -> Document:
    customer = db.session.get(Customer, customer_id or shop.customer)
    values = {"payment_reference": reference}
    if currency:
        values["currency"] = currency
    document = services.create_document(kind, customer, values)
    services.add_line(document, {"description": "Varmtvannsbereder", "quantity": D(1),
                                 "unit_price": D("12490.00"), "vat_rate_id": shop.vat})
    return document


def issue(shop, kind=K.INVOICE, reference: str = "", **values) -> Document:
    with scoping.tenant_context(shop.tenant.id):
        document = draft(shop, kind, reference, **values)
        issuing.issue_document(document, on=ISSUE_DAY)
        db.session.commit()
        return document


def pdf_text(document: Document) -> str:
    with scoping.tenant_context(document.tenant_id):
        data = printing.issued_pdf(document)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def chain_breaks(shop, kind=K.INVOICE) -> list:
    with scoping.tenant_context(shop.tenant.id):
        checked, breaks = verify_kind(kind)
        assert checked > 0
        return breaks


# --- issued one by one (the ORM path) --------------------------------------------------------


@pytest.mark.parametrize(("scheme", "label", "first", "second"), [
    # Series 1, customer 10042 → "0042", positions 1 and 2, then the check digit (worked
    # out apart from the module).
    (r.KID_MOD10, "KID", "1004200018", "1004200026"),
    (r.KID_MOD11, "KID", "1004200019", "1004200027"),
    (r.RF, "Reference (RF)", "RF14101004200000001", "RF84101004200000002"),
    (r.INVOICE_NUMBER, "Invoice number as reference", "INV-2026-00001", "INV-2026-00002"),
])
def test_each_scheme_makes_the_reference_at_issue_before_the_hash(shop, scheme, label,
                                                                  first, second):
    use(shop, scheme)
    invoices = [issue(shop), issue(shop)]
    assert [invoice.payment_reference for invoice in invoices] == [first, second]
    for invoice in invoices:
        if scheme in r.KID_SCHEMES:
            assert r.is_valid_kid(invoice.payment_reference, scheme)
        elif scheme == r.RF:
            assert r.is_valid_rf(invoice.payment_reference)
        assert invoice.seller["reference_scheme"] == scheme
    assert chain_breaks(shop) == []  # the hash covers the reference
    printed = r.display_reference(first)
    assert f"{label}: {printed}" in pdf_text(invoices[0])


def test_a_proforma_gets_a_reference_of_its_own_series(shop):
    use(shop, r.KID_MOD10)
    invoice = issue(shop)
    proforma = issue(shop, K.PROFORMA)
    # Both first in their series, for the same customer: the series digit tells them apart.
    assert (invoice.payment_reference, proforma.payment_reference) == (
        "1004200018", "2004200016")
    assert r.is_valid_kid(proforma.payment_reference, "MOD10")
    assert chain_breaks(shop, K.PROFORMA) == []
    assert "KID: 2004200016" in pdf_text(proforma)


def test_the_final_invoice_keeps_the_reference_its_proforma_was_paid_with(shop):
    use(shop, r.RF)
    proforma = issue(shop, K.PROFORMA)
    use(shop, r.KID_MOD10)  # changed since: the customer paid with the RF reference
    with scoping.tenant_context(shop.tenant.id):
        services.move(proforma, S.PAID)
        invoice = conversion.convert_proforma(proforma)
        db.session.commit()
    assert invoice.payment_reference == proforma.payment_reference
    assert r.is_valid_rf(invoice.payment_reference)
    assert "Reference (RF): " + r.display_reference(proforma.payment_reference) in pdf_text(
        invoice)


def test_a_credit_note_gets_no_reference_nor_its_invoices(shop):
    use(shop, r.KID_MOD10)
    invoice = issue(shop)
    with scoping.tenant_context(shop.tenant.id):
        note = conversion.create_credit_note(invoice)
        issuing.issue_document(note, on=ISSUE_DAY)
        db.session.commit()
    assert note.payment_reference == ""
    assert invoice.payment_reference not in pdf_text(note)


def test_quotes_and_orders_get_none(shop):
    use(shop, r.KID_MOD10)
    assert issue(shop, K.QUOTE).payment_reference == ""


# --- typed on the draft ----------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "typed", "kept"), [
    (r.KID_MOD10, "0000 0012 30", "0000001230"),
    (r.KID_MOD11, "0000001236", "0000001236"),
    (r.RF, "rf18 5390 0754 7034", "RF18539007547034"),
    (r.INVOICE_NUMBER, "Prosjekt 4711", "Prosjekt 4711"),
])
def test_a_reference_typed_on_the_draft_is_kept(shop, scheme, typed, kept):
    use(shop, scheme)
    invoice = issue(shop, reference=typed)
    assert invoice.payment_reference == kept
    assert chain_breaks(shop) == []
    assert r.display_reference(kept) in pdf_text(invoice)


@pytest.mark.parametrize(("scheme", "typed", "words"), [
    (r.KID_MOD10, "0000001231", "0000001231 is not a valid KID (MOD10): its MOD10 check"),
    (r.KID_MOD11, "RF18539007547034", "is not a valid KID (MOD11)"),
    (r.RF, "RF17 5390 0754 7034", "is not a valid RF creditor reference"),
    (r.KID_MOD11, "1000005-", "1000005- has 8 digits: this company's KIDs have 10"),
])
def test_a_wrong_typed_reference_is_refused_on_the_field(shop, scheme, typed, words):
    use(shop, scheme)
    with scoping.tenant_context(shop.tenant.id):
        customer = db.session.get(Customer, shop.customer)
        with pytest.raises(DocumentError, match=words.replace("(", r"\(").replace(
                ")", r"\)")) as refused:
            services.create_document(K.INVOICE, customer, {"payment_reference": typed})
        assert refused.value.field == "payment_reference"


def test_issuing_checks_a_typed_reference_again_when_the_scheme_changed(shop):
    use(shop, r.INVOICE_NUMBER)
    with scoping.tenant_context(shop.tenant.id):
        document = draft(shop, reference="Prosjekt 4711")
        db.session.commit()
    use(shop, r.KID_MOD10)
    with scoping.tenant_context(shop.tenant.id):
        document = db.session.get(Document, document.id)
        with pytest.raises(DocumentError, match="Prosjekt 4711 is not a valid KID") as refused:
            issuing.issue_document(document, on=ISSUE_DAY)
        assert refused.value.field == "payment_reference"
        db.session.rollback()
        document = db.session.get(Document, document.id)
        assert (document.number, document.status) == (None, S.DRAFT)  # nothing half way


def test_a_typed_reference_another_invoice_has_is_refused(shop):
    use(shop, r.KID_MOD10)
    first = issue(shop)
    with scoping.tenant_context(shop.tenant.id):
        second = draft(shop, reference=first.payment_reference)
        with pytest.raises(DocumentError, match=f"{first.payment_reference} is already on"
                                                f" invoice {first.number}"):
            issuing.issue_document(second, on=ISSUE_DAY)
        db.session.rollback()


def test_a_kid_too_short_for_the_series_refuses_to_issue_and_says_where_to_change_it(shop):
    use(shop, r.KID_MOD10, length=4)  # room for the first 9 invoices
    for _ in range(9):
        issue(shop)
    with scoping.tenant_context(shop.tenant.id):
        tenth = draft(shop)
        with pytest.raises(DocumentError, match="invoice no. 10 of it needs a longer KID"
                                                r".*Settings → Payment references"):
            issuing.issue_document(tenth, on=ISSUE_DAY)
        db.session.rollback()
    assert chain_breaks(shop) == []


# --- what else shows it ----------------------------------------------------------------------


def test_the_invoice_email_gives_the_reference_with_its_label(app, shop):
    use(shop, r.KID_MOD11)
    invoice = issue(shop)
    with app.test_request_context(), scoping.tenant_context(shop.tenant.id):
        content = document_email(invoice)
    assert f"KID: {invoice.payment_reference}" in content.text


def test_a_euro_invoice_under_rf_carries_it_structured_in_the_qr_code(shop):
    use(shop, r.RF)
    with scoping.tenant_context(shop.tenant.id):
        BankAccountFactory(tenant=shop.tenant, iban="DE89370400440532013000", currency="EUR",
                           bic="COBADEFFXXX", label="EUR")
        euro = CustomerFactory(tenant=shop.tenant, name="Hamburg Hafen GmbH", country="DE",
                               currency="EUR")
        tenant = db.session.get(Tenant, shop.tenant.id)
        tenant.default_currency = "EUR"
        db.session.commit()
    invoice = issue(shop, customer_id=euro.id)
    with scoping.tenant_context(shop.tenant.id):
        payload = pdf_content.epc_payload(printing.printable(invoice))
    assert payload.split("\n")[9] == invoice.payment_reference  # the structured element


# --- a billing run's bulk path ---------------------------------------------------------------


def contracted(shop, count: int) -> list[int]:
    """`count` customers with a monthly contract each, due on 1 April 2026."""
    numbers = []
    with scoping.tenant_context(shop.tenant.id):
        for n in range(count):
            customer = CustomerFactory(tenant=shop.tenant, name=f"Borettslag {n}",
                                       number=20000 + n, currency="NOK")
            contract = contracts.create_contract(
                db.session.get(Customer, customer.id),
                {"start_date": date(2026, 3, 1), "billing_period": "monthly",
                 "in_advance": True, "number": f"C-{n}"})
            contracts.add_line(contract, {"description": "Service", "quantity": D(1),
                                          "unit_price": D("1000.00"), "vat_rate_id": shop.vat})
            numbers.append(customer.number)
        db.session.commit()
    return numbers


def run_billing(app, shop) -> BillingRun:
    with scoping.tenant_context(shop.tenant.id):
        run_id = billing.start_run(date(2026, 4, 1), None, consolidate=True, issue=True).id
        db.session.commit()
    run_jobs(app)
    with scoping.tenant_context(shop.tenant.id):
        run = db.session.get(BillingRun, run_id)
        db.session.refresh(run)
        return run


@pytest.mark.parametrize("scheme", [r.KID_MOD10, r.KID_MOD11, r.RF, r.INVOICE_NUMBER])
def test_a_billing_run_gives_each_invoice_its_reference_in_bulk(app, shop, scheme):
    use(shop, scheme, length=12)
    issue(shop)  # position 1 is taken by an invoice issued by hand
    numbers = contracted(shop, 3)
    run = run_billing(app, shop)
    assert (run.status, run.invoices) == (RunStatus.DONE, 3)
    with scoping.tenant_context(shop.tenant.id):
        invoices = db.session.scalars(
            select(Document).where(Document.kind == K.INVOICE, Document.chain_position > 1)
            .order_by(Document.chain_position)).all()
        made = [(d.payment_reference, d.customer.number, d.chain_position, d.number)
                for d in invoices]
    expected = [r.make_reference(scheme, customer_number=customer, counter=position,
                                 number=number, length=12)
                for (_, customer, position, number) in made]
    assert [reference for reference, *_ in made] == expected
    assert sorted(customer for _, customer, *_ in made) == numbers
    assert chain_breaks(shop) == []
    label = r.reference_label(expected[0], scheme, made[0][3])
    assert f"{label}: {r.display_reference(expected[0])}" in pdf_text(invoices[0])


def test_a_billing_run_whose_kid_is_too_short_fails_and_keeps_nothing(app, shop):
    use(shop, r.KID_MOD10, length=4)
    for _ in range(8):
        issue(shop)
    contracted(shop, 3)  # positions 9, 10, 11: only 9 fits
    run = run_billing(app, shop)
    assert run.status == RunStatus.FAILED
    assert "invoice no. 10 of it needs a longer KID" in run.error
    with scoping.tenant_context(shop.tenant.id):
        assert db.session.scalar(select(Document.id).where(
            Document.chain_position > 8)) is None
    assert chain_breaks(shop) == []


# --- the settings page -----------------------------------------------------------------------


def settings_url(shop) -> str:
    return f"/t/{shop.tenant.slug}/documents/payment-references"


def test_the_settings_page_saves_the_scheme_for_future_invoices_only(shop, make_client):
    before = issue(shop)
    client = make_client(shop.owner)
    page = client.get(settings_url(shop))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'aria-current="page">Payment references</a>' in html  # in the settings tabs
    assert "Now: Invoice number" in html
    response = client.post(settings_url(shop), data={"reference_scheme": r.KID_MOD11,
                                                      "reference_length": "12"})
    assert response.status_code == 302
    scoping.set_current_tenant(shop.tenant.id)  # the request ended its own
    tenant = db.session.get(Tenant, shop.tenant.id)
    assert (tenant.reference_scheme, tenant.reference_length) == (r.KID_MOD11, 12)
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "settings.payment_references_changed"))
    assert entry.summary == ("Payment references: Invoice number → KID with MOD11 check"
                             " digit, 12 digits")
    after = issue(shop)
    db.session.refresh(before)
    assert before.payment_reference == before.number  # issued: kept as it was
    assert len(after.payment_reference) == 12 and r.is_valid_kid(after.payment_reference,
                                                                 "MOD11")
    html = client.get(settings_url(shop)).get_data(as_text=True)
    # The next one, shown: customer 10042, the third invoice of the series.
    expected = r.make_reference(r.KID_MOD11, customer_number=CUSTOMER_NUMBER, counter=3,
                                number="", length=12)
    assert expected in html and "This length has room for 99,999 invoices." in html


@pytest.mark.parametrize(("data", "words"), [
    ({"reference_scheme": r.KID_MOD10, "reference_length": "3"}, "KID length: use 4 to 25"),
    ({"reference_scheme": r.KID_MOD10, "reference_length": "26"}, "KID length: use 4 to 25"),
    ({"reference_scheme": r.KID_MOD10, "reference_length": "ten"},
     "KID length (digits, check digit included): enter a whole number of digits."),
    ({"reference_scheme": r.KID_MOD10, "reference_length": ""},
     "KID length: enter the number of digits, 4 to 25."),
    ({"reference_scheme": "kid_mod12", "reference_length": "10"}, "Not a valid choice"),
])
def test_the_settings_page_refuses_bad_values_naming_the_field(shop, make_client, data,
                                                               words):
    response = make_client(shop.owner).post(settings_url(shop), data=data)
    assert response.status_code == 422
    assert words in " ".join(errors_in(response.get_data(as_text=True)))
    tenant = db.session.get(Tenant, shop.tenant.id)
    assert (tenant.reference_scheme, tenant.reference_length) == (r.INVOICE_NUMBER, 10)


def test_the_settings_page_refuses_a_kid_too_short_for_the_invoices_issued(shop,
                                                                           make_client):
    for _ in range(9):
        issue(shop)
    response = make_client(shop.owner).post(settings_url(shop), data={
        "reference_scheme": r.KID_MOD10, "reference_length": "4"})
    assert response.status_code == 422
    errors = " ".join(errors_in(response.get_data(as_text=True)))
    assert "KID length: A KID of 4 digits has room for the first 9 invoices" in errors
    assert "Choose a longer KID." in errors
    assert db.session.get(Tenant, shop.tenant.id).reference_scheme == r.INVOICE_NUMBER
    ok = make_client(shop.owner).post(settings_url(shop), data={
        "reference_scheme": r.KID_MOD10, "reference_length": "5"})
    assert ok.status_code == 302


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.STAFF, Role.VIEWER])
def test_only_owners_and_admins_change_the_scheme(shop, make_client, role):
    client = make_client(member(shop.tenant, role))
    assert client.get(settings_url(shop)).status_code == 403
    assert client.post(settings_url(shop), data={"reference_scheme": r.RF,
                                                 "reference_length": "10"}).status_code == 403
    admin = make_client(member(shop.tenant, Role.ADMIN))
    assert admin.get(settings_url(shop)).status_code == 200


def test_the_draft_page_refuses_a_wrong_kid_on_its_field(shop, make_client):
    use(shop, r.KID_MOD10)
    with scoping.tenant_context(shop.tenant.id):
        document = draft(shop)
        db.session.commit()
        url = f"/t/{shop.tenant.slug}/documents/{document.id}/header"
    client = make_client(shop.owner)
    response = client.post(url, data={"language": "nb", "payment_terms_days": "14",
                                      "payment_reference": "0000001231", "notes": ""})
    assert response.status_code == 422
    assert any("0000001231 is not a valid KID (MOD10)" in error
               for error in errors_in(response.get_data(as_text=True)))
    scoping.set_current_tenant(shop.tenant.id)  # the request ended its own
    db.session.refresh(document)
    assert document.payment_reference == ""
    response = client.post(url, data={"language": "nb", "payment_terms_days": "14",
                                      "payment_reference": "0000 0012 30", "notes": ""})
    assert response.status_code == 302
    scoping.set_current_tenant(shop.tenant.id)
    db.session.refresh(document)
    assert document.payment_reference == "0000001230"
    assert "A KID typed here must be valid, with 10 digits." in client.get(
        f"/t/{shop.tenant.slug}/documents/{document.id}").get_data(as_text=True)
