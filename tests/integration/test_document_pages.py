"""The document pages: lists, the editor's in-place lines, issuing, the chain, PDFs, reports."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.billing.documents.models import Document, NumberSeries
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Branding, Role
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SiteFactory,
    TenantFactory,
    VatRateFactory,
    member,
)
from tests.helpers import errors_in

K = DocumentKind
D = Decimal


@pytest.fixture()
def shop(db_session):
    tenant = TenantFactory(name="Havbris Consulting AS")
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS")
        ids = {
            "slug": tenant.slug, "tenant": tenant, "customer": customer.id,
            "vat": VatRateFactory(tenant=tenant, code="S25").id,
            "product": ProductFactory(tenant=tenant, name="Consulting hour", unit="h",
                                      base_price=D("1200"), quantity_increment=D("1")).id,
            "site": SiteFactory(tenant=tenant, customer=customer, code="BRG",
                                name="Bergen bakery").id,
        }
    return ids


@pytest.fixture()
def accountant(shop, make_client):
    return make_client(member(shop["tenant"], Role.ACCOUNTANT))


def url(shop, path: str) -> str:
    return f"/t/{shop['slug']}/documents{path}"


def htmx(**headers):
    return {"HX-Request": "true", **headers}


def _start(client, shop, kind="invoices") -> int:
    response = client.post(url(shop, f"/{kind}/new"), data={"customer_id": shop["customer"]})
    assert response.status_code == 302
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _only(shop, kind) -> tuple[int, int]:
    """The id of the one document of the kind, and of its first line."""
    with scoping.tenant_context(shop["tenant"].id):
        document = db.session.scalar(select(Document).where(Document.kind == kind))
        return document.id, document.lines[0].id


def _add(client, shop, document_id, **fields):
    data = {"quantity": "1", "product_id": "", "description": "", "unit": "",
            "unit_price": "", "discount_percent": "", "vat_rate_id": "", "site_id": ""}
    data.update({k: str(v) for k, v in fields.items()})
    return client.post(url(shop, f"/{document_id}/lines"), data=data, headers=htmx())


def test_a_draft_is_started_from_a_customer_search(shop, accountant):
    page = accountant.get(url(shop, "/invoices/new?q=fjord"), headers=htmx(
        **{"HX-Target": "customer-choices"}))
    assert page.status_code == 200 and "Fjord Bakeri AS" in page.text
    assert "<html" not in page.text
    document_id = _start(accountant, shop)
    editor = accountant.get(url(shop, f"/{document_id}"))
    assert "Draft invoice" in editor.text and "Add a line" in editor.text


def test_lines_are_added_edited_and_removed_in_place_with_totals(shop, accountant):
    document_id = _start(accountant, shop)
    response = _add(accountant, shop, document_id, product_id=shop["product"],
                    quantity="2.5", site_id=shop["site"])
    assert response.status_code == 200 and 'id="lines-panel"' in response.text
    assert "<html" not in response.text
    # 2.5 h billed by started hours = 3 h × 1,200.00; 25 % VAT.
    assert "3,600.00 NOK" in response.text and "4,500.00 NOK" in response.text
    assert "billed as 3 h" in response.text and "Site BRG Bergen bakery" in response.text
    manual = _add(accountant, shop, document_id, description="Travel", quantity="1",
                  unit_price="250", vat_rate_id=shop["vat"])
    assert "3,850.00 NOK" in manual.text
    with scoping.tenant_context(shop["tenant"].id):
        lines = db.session.get(Document, document_id).lines
        first, second = lines[0].id, lines[1].id
    form = accountant.get(url(shop, f"/{document_id}/lines/{second}/edit"), headers=htmx())
    assert "Travel</textarea>" in form.text
    edited = accountant.post(url(shop, f"/{document_id}/lines/{second}/edit"), headers=htmx(),
                             data={"description": "Travel Bergen", "quantity": "2",
                                   "unit_price": "250", "discount_percent": "",
                                   "vat_rate_id": shop["vat"], "product_id": "", "unit": "",
                                   "site_id": ""})
    assert edited.status_code == 200 and "Travel Bergen" in edited.text
    assert "4,100.00 NOK" in edited.text
    removed = accountant.post(url(shop, f"/{document_id}/lines/{first}/delete"), headers=htmx())
    assert f'id="line-{first}"' not in removed.text and f'id="line-{second}"' in removed.text
    assert "Travel Bergen" in removed.text and "625.00 NOK" in removed.text


def test_a_bad_line_gets_its_message_and_saves_nothing(shop, accountant):
    document_id = _start(accountant, shop)
    response = _add(accountant, shop, document_id, description="Refund", quantity="-1",
                    unit_price="10", vat_rate_id=shop["vat"])
    assert response.status_code == 422
    assert "cannot be negative" in " ".join(errors_in(response.text))
    response = _add(accountant, shop, document_id, description="Hours", quantity="1,5",
                    unit_price="10", vat_rate_id=shop["vat"])
    assert response.status_code == 422 and "Use a dot" in response.text
    with scoping.tenant_context(shop["tenant"].id):
        assert db.session.get(Document, document_id).lines == []


def test_the_price_preview_explains_the_rule(shop, accountant):
    document_id = _start(accountant, shop)
    response = accountant.get(url(shop, f"/{document_id}/price?product_id={shop['product']}"
                                  "&quantity=0.5"), headers=htmx())
    assert "Price rules:" in response.text and "billed as 1 h" in response.text


def test_issue_then_pdf_is_the_stored_one_and_the_list_sums(shop, accountant):
    document_id = _start(accountant, shop)
    _add(accountant, shop, document_id, product_id=shop["product"], quantity="1")
    empty_id = _start(accountant, shop)
    refused = accountant.post(url(shop, f"/{empty_id}/issue"), follow_redirects=True)
    assert "empty document cannot be issued" in refused.text
    issued = accountant.post(url(shop, f"/{document_id}/issue"), follow_redirects=True)
    assert "INV-" in issued.text and "issued" in issued.text
    pdf = accountant.get(url(shop, f"/{document_id}/pdf?download=1"))
    assert pdf.mimetype == "application/pdf" and "attachment" in pdf.headers[
        "Content-Disposition"]
    with scoping.tenant_context(shop["tenant"].id):
        stored = db.session.get(Document, document_id)
        assert pdf.data == stored.pdf
        db.session.scalar(select(Branding)).primary_color = "#ff0000"
        db.session.commit()
    again = accountant.get(url(shop, f"/{document_id}/pdf"))
    assert again.data == pdf.data  # never re-rendered
    listing = accountant.get(url(shop, "/invoices/?status=issued&totals=1"))
    assert "1 invoice in NOK" in listing.text and "1,500.00 NOK" in listing.text
    found = accountant.get(url(shop, "/invoices/?q=fjord"), headers=htmx(
        **{"HX-Target": "document-results"}))
    assert "INV-" in found.text and "<html" not in found.text
    assert "Nothing matches" in accountant.get(url(shop, "/invoices/?q=nobody")).text


def test_issued_documents_refuse_line_changes_through_the_pages(shop, accountant):
    document_id = _start(accountant, shop)
    _add(accountant, shop, document_id, product_id=shop["product"], quantity="1")
    accountant.post(url(shop, f"/{document_id}/issue"))
    response = _add(accountant, shop, document_id, description="Extra", quantity="1",
                    unit_price="1", vat_rate_id=shop["vat"])
    assert response.status_code == 422 and "cannot be changed" in response.text


def test_quote_to_order_to_partial_invoice_and_credit_note_pages(shop, accountant):
    quote_id = _start(accountant, shop, "quotes")
    _add(accountant, shop, quote_id, product_id=shop["product"], quantity="4")
    accountant.post(url(shop, f"/{quote_id}/issue"))
    converted = accountant.post(url(shop, f"/{quote_id}/convert"), follow_redirects=True)
    assert "Draft order confirmation" in converted.text and "Q-" in converted.text
    order_id, order_line = _only(shop, K.ORDER)
    accountant.post(url(shop, f"/{order_id}/issue"))
    form = accountant.get(url(shop, f"/{order_id}/invoice"))
    assert f'name="quantity-{order_line}"' in form.text
    too_much = accountant.post(url(shop, f"/{order_id}/invoice"),
                               data={f"quantity-{order_line}": "5"})
    assert too_much.status_code == 422 and "5 is more than the 4 left" in too_much.text
    made = accountant.post(url(shop, f"/{order_id}/invoice"),
                           data={f"quantity-{order_line}": "3"}, follow_redirects=True)
    assert "Draft invoice" in made.text and "Chain" in made.text
    invoice_id, invoice_line = _only(shop, K.INVOICE)
    accountant.post(url(shop, f"/{invoice_id}/issue"))
    order_page = accountant.get(url(shop, f"/{order_id}"))
    assert "Partly invoiced" in order_page.text
    credit = accountant.post(url(shop, f"/{invoice_id}/credit"),
                             data={f"quantity-{invoice_line}": "4"})
    assert credit.status_code == 422 and "4 is more than the 3 left to credit" in credit.text
    credited = accountant.post(url(shop, f"/{invoice_id}/credit"),
                               data={f"quantity-{invoice_line}": "1"}, follow_redirects=True)
    assert "Draft credit note" in credited.text and "-1" in credited.text
    report = accountant.get(url(shop, "/reports/quote-order-differences"))
    assert "Confirmed as quoted" in report.text


def test_the_difference_report_shows_changed_lines(shop, accountant):
    quote_id = _start(accountant, shop, "quotes")
    _add(accountant, shop, quote_id, product_id=shop["product"], quantity="4")
    accountant.post(url(shop, f"/{quote_id}/issue"))
    accountant.post(url(shop, f"/{quote_id}/convert"))
    order_id, line_id = _only(shop, K.ORDER)
    accountant.post(url(shop, f"/{order_id}/lines/{line_id}/edit"), data={
        "product_id": shop["product"], "quantity": "6", "description": "Consulting hour",
        "unit": "h", "unit_price": "1100", "discount_percent": "0",
        "vat_rate_id": shop["vat"], "site_id": ""})
    _add(accountant, shop, order_id, description="Travel", quantity="1", unit_price="300",
         vat_rate_id=shop["vat"])
    accountant.post(url(shop, f"/{order_id}/issue"))
    report = accountant.get(url(shop, f"/reports/quote-order-differences?customer="
                                      f"{shop['customer']}"))
    text = report.text
    assert "changed" in text and "added" in text
    # Quoted 4 × 1,200 = 4,800; ordered 6 × 1,100 + 300 = 6,900: 2,100 more.
    assert "2,100.00 NOK" in text


def test_a_viewer_can_read_but_not_edit_or_issue(shop, accountant, make_client):
    document_id = _start(accountant, shop)
    viewer = make_client(member(shop["tenant"], Role.VIEWER))
    assert viewer.get(url(shop, f"/{document_id}")).status_code == 200
    assert _add(viewer, shop, document_id, description="x", quantity="1", unit_price="1",
                vat_rate_id=shop["vat"]).status_code == 403
    assert viewer.post(url(shop, f"/{document_id}/issue")).status_code == 403


def test_staff_may_send_quotes_but_not_issue_invoices(shop, accountant, make_client):
    staff = make_client(member(shop["tenant"], Role.STAFF))
    invoice_id = _start(staff, shop)
    _add(staff, shop, invoice_id, product_id=shop["product"], quantity="1")
    assert staff.post(url(shop, f"/{invoice_id}/issue")).status_code == 403
    quote_id = _start(staff, shop, "quotes")
    _add(staff, shop, quote_id, product_id=shop["product"], quantity="1")
    assert staff.post(url(shop, f"/{quote_id}/issue")).status_code == 302


def test_numbering_formats_are_set_per_kind(shop, accountant):
    page = accountant.get(url(shop, "/numbering"))
    assert "INV-{yyyy}-{counter:05}" in page.text
    bad = accountant.post(url(shop, "/numbering"), data={
        "kind": "invoice", "invoice-format": "F-{counter}", "invoice-reset": "yearly"})
    assert bad.status_code == 422 and "needs {yyyy} or {yy}" in bad.text
    good = accountant.post(url(shop, "/numbering"), data={
        "kind": "invoice", "invoice-format": "F{yy}/{counter:04}", "invoice-reset": "yearly"})
    assert good.status_code == 200 and "Saved." in good.text
    with scoping.tenant_context(shop["tenant"].id):
        series = db.session.scalar(select(NumberSeries).where(NumberSeries.kind == K.INVOICE))
        assert series.format == "F{yy}/{counter:04}"


def test_the_customer_page_lists_documents_statistics_and_balance(shop, accountant):
    invoice_id = _start(accountant, shop)
    _add(accountant, shop, invoice_id, product_id=shop["product"], quantity="2")
    accountant.post(url(shop, f"/{invoice_id}/issue"))
    quote_id = _start(accountant, shop, "quotes")
    _add(accountant, shop, quote_id, product_id=shop["product"], quantity="1")
    page = accountant.get(f"/t/{shop['slug']}/customers/{shop['customer']}")
    statistics = page.text.split('id="customer-statistics"')[1]
    # One issued invoice of 2 × 1,200 net; the quote is still a draft and not counted.
    assert "1 · 2,400.00" in statistics and "0 · 0.00" in statistics
    assert "3,000.00 NOK" in page.text.split('id="customer-documents"')[0]  # the balance
    assert "Draft quote" in page.text and "INV-" in page.text


def test_ticked_drafts_are_issued_together_all_or_none(shop, accountant):
    ids = []
    for quantity in ("1", "2", "3"):
        document_id = _start(accountant, shop)
        _add(accountant, shop, document_id, product_id=shop["product"], quantity=quantity)
        ids.append(document_id)
    empty = _start(accountant, shop)
    listing = accountant.get(url(shop, "/invoices/"))
    assert "Issue selected" in listing.text and f'value="{ids[0]}"' in listing.text
    refused = accountant.post(url(shop, "/invoices/issue-selected"),
                              data={"selected": [*ids, empty]}, follow_redirects=True)
    assert "empty document cannot be issued" in refused.text
    with scoping.tenant_context(shop["tenant"].id):
        assert db.session.scalar(select(Document).where(Document.number.is_not(None))) is None
    done = accountant.post(url(shop, "/invoices/issue-selected"), data={"selected": ids},
                           follow_redirects=True)
    assert "3 invoices issued" in done.text
    with scoping.tenant_context(shop["tenant"].id):
        numbers = [db.session.get(Document, i).number for i in ids]
    assert [n[-2:] for n in numbers] == ["01", "02", "03"]
    nothing = accountant.post(url(shop, "/invoices/issue-selected"), data={},
                              follow_redirects=True)
    assert "Tick the drafts" in nothing.text


def test_the_details_of_a_draft_are_saved_in_place_and_a_date_can_be_cleared(shop, accountant):
    quote_id = _start(accountant, shop, "quotes")
    # What a quote's form sends: it has no payment terms field.
    details = {"language": "nb", "delivery_date": "2026-12-01", "valid_until": "2026-12-31",
               "notes": "Hei"}
    saved = accountant.post(url(shop, f"/{quote_id}/header"), data=details, headers=htmx())
    assert saved.status_code == 200 and "Saved." in saved.text
    cleared = accountant.post(url(shop, f"/{quote_id}/header"), headers=htmx(),
                              data={**details, "delivery_date": "", "valid_until": ""})
    assert cleared.status_code == 200
    with scoping.tenant_context(shop["tenant"].id):
        quote = db.session.get(Document, quote_id)
        assert (quote.language, quote.notes) == ("nb", "Hei")
        assert (quote.delivery_date, quote.valid_until) == (None, None)
    invoice_id = _start(accountant, shop)
    bad = accountant.post(url(shop, f"/{invoice_id}/header"), headers=htmx(),
                          data={**details, "payment_terms_days": "400",
                                "payment_reference": ""})
    assert bad.status_code == 422 and "Use 0 to 365 days." in bad.text
    good = accountant.post(url(shop, f"/{invoice_id}/header"), headers=htmx(),
                           data={**details, "payment_terms_days": "30",
                                 "payment_reference": "RF18539007547034"})
    assert good.status_code == 200
    with scoping.tenant_context(shop["tenant"].id):
        invoice = db.session.get(Document, invoice_id)
        assert (invoice.payment_terms_days, invoice.payment_reference) == (
            30, "RF18539007547034")
