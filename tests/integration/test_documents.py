"""The sales chain's services: drafts, lines, issuing, numbering, immutability, the chain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing, services
from saas.billing.documents.chain import verify_series
from saas.billing.documents.immutability import ImmutableDocument
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments import services as payments
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant
from tests.factories import (
    BankAccountFactory,
    CustomerFactory,
    ExchangeRateFactory,
    ProductFactory,
    SiteFactory,
    TenantFactory,
    VatRateFactory,
)

K, S = DocumentKind, DocumentStatus
D = Decimal
ISSUE_DAY = date(2026, 11, 20)


@pytest.fixture()
def shop(db_session):
    """A tenant with a customer, a 25 % and a 12 % product and a bank account."""
    tenant = TenantFactory(name="Nordlys Service AS", vat_id="NO923456783MVA",
                           address_line1="Storgata 1", postal_code="0155", city="Oslo")
    scoping.set_current_tenant(tenant.id)
    standard = VatRateFactory(tenant=tenant, code="S25", rate=D("25.00"))
    reduced = VatRateFactory(tenant=tenant, code="R12", rate=D("12.00"))
    customer = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS", currency="NOK",
                               payment_terms_days=10, address_line1="Kaia 2", city="Bergen")
    hour = ProductFactory(tenant=tenant, name="Technician hour", unit="h",
                          base_price=D("950.00"), vat_rate=standard,
                          quantity_increment=D("0.5"))
    bread = ProductFactory(tenant=tenant, name="Bread", unit="pcs", base_price=D("39.90"),
                           vat_rate=reduced)
    BankAccountFactory(tenant=tenant, iban="NO9386011117947", currency="NOK",
                       is_default=True)
    ids = {"tenant": tenant.id, "customer": customer.id, "hour": hour.id,
           "bread": bread.id, "standard": standard.id, "reduced": reduced.id}
    return ids


def _draft(shop, kind=K.INVOICE, lines=(("hour", "2.2"), ("bread", "10"))):
    customer = db.session.get(Customer, shop["customer"])
    document = services.create_document(kind, customer)
    for product, quantity in lines:
        services.add_line(document, {"product_id": shop[product], "quantity": D(quantity)})
    return document


def test_lines_are_priced_by_the_engine_and_totals_break_down_vat(shop):
    document = _draft(shop)
    hour, bread = document.lines
    # 2.2 h billed by started half hours: 2.5 h × 950.
    assert (hour.quantity, hour.unit_price, hour.net) == (D("2.5"), D("950"), D("2375.00"))
    assert "started" in hour.price_explanation and "base price" in hour.price_explanation.lower()
    assert bread.net == D("399.00")
    totals = services.document_totals(document)
    assert [(row.code, row.net, row.vat) for row in totals.rows] == [
        ("R12", D("399.00"), D("47.88")), ("S25", D("2375.00"), D("593.75"))]
    assert (document.net_total, document.vat_total, document.gross_total) == (
        D("2774.00"), D("641.63"), D("3415.63"))


def test_a_manual_line_and_a_changed_price_say_so(shop):
    document = _draft(shop, lines=())
    manual = services.add_line(document, {
        "description": "Call-out fee", "quantity": D("1"), "unit_price": D("450"),
        "vat_rate_id": shop["standard"]})
    changed = services.add_line(document, {
        "product_id": shop["bread"], "quantity": D("3"), "unit_price": D("35"),
        "discount_percent": D("10")})
    assert manual.price_explanation == "Price entered by hand."
    assert manual.net == D("450.00")
    assert changed.price_explanation.startswith("Price changed by hand")
    assert changed.net_unit_price == D("31.5") and changed.net == D("94.50")


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"description": "x", "quantity": D("-1"), "unit_price": D(1)}, "quantity", "negative"),
    ({"description": "x", "quantity": D("1"), "unit_price": D(1), "currency": "EUR"},
     "currency", "in EUR but the document is in NOK"),
    ({"description": "", "quantity": D("1"), "unit_price": D(1)}, "description", "Describe"),
    ({"description": "x", "quantity": D("1")}, "unit_price", "unit price"),
    ({"description": "x", "quantity": D("1"), "unit_price": D(1),
      "discount_percent": D(120)}, "discount_percent", "0 to 100"),
])
def test_bad_lines_are_refused_and_nothing_is_added(shop, values, field, words):
    document = _draft(shop, lines=())
    values.setdefault("vat_rate_id", shop["standard"])
    with pytest.raises(DocumentError) as refused:
        services.add_line(document, values)
    assert refused.value.field == field and words in str(refused.value)
    assert document.lines == []


def test_a_product_in_another_currency_without_a_rate_is_refused(shop):
    tenant = db.session.get(Tenant, shop["tenant"])
    euro = ProductFactory(tenant=tenant, base_price=D("10"), currency="EUR")
    euro_id = euro.id
    document = _draft(shop, lines=())
    with pytest.raises(DocumentError, match="Exchange rates"):
        services.add_line(document, {"product_id": euro_id, "quantity": D(1)})
    ExchangeRateFactory(tenant=tenant, base_currency="EUR", quote_currency="NOK",
                        valid_on=date(2026, 1, 1), rate=D("11.5"))
    line = services.add_line(document, {"product_id": euro_id, "quantity": D(1)})
    assert line.unit_price == D("115") and "converted from EUR to NOK" in line.price_explanation


def test_issuing_numbers_snapshots_and_freezes(shop):
    document = _draft(shop)
    issuing.issue_document(document, on=ISSUE_DAY)
    db.session.flush()
    assert document.number == "INV-2026-00001" and document.status == S.ISSUED
    assert document.due_date == date(2026, 11, 30)
    assert document.buyer["name"] == "Fjord Bakeri AS"
    assert document.seller["vat_id"] == "NO923456783MVA"
    assert document.seller["bank_accounts"][0]["iban"] == "NO9386011117947"
    assert document.pdf.startswith(b"%PDF") and len(document.pdf_sha256) == 64
    # R3.9: later changes to the customer never reach the issued document.
    document.customer.name = "Renamed AS"
    db.session.flush()
    db.session.expire(document)
    assert document.buyer["name"] == "Fjord Bakeri AS"
    second = _draft(shop)
    issuing.issue_document(second, on=ISSUE_DAY)
    assert second.number == "INV-2026-00002"
    assert second.previous_hash == document.chain_hash


def test_issuing_refuses_empty_documents_and_issuing_twice(shop):
    empty = _draft(shop, lines=())
    with pytest.raises(DocumentError, match="empty document"):
        issuing.issue_document(empty, on=ISSUE_DAY)
    assert empty.number is None and empty.status == S.DRAFT
    document = _draft(shop)
    issuing.issue_document(document, on=ISSUE_DAY)
    with pytest.raises(DocumentError, match="already issued"):
        issuing.issue_document(document, on=ISSUE_DAY)
    assert document.number == "INV-2026-00001"


def test_a_foreign_currency_document_records_the_rate_to_the_tenant_currency(shop):
    tenant = db.session.get(Tenant, shop["tenant"])
    tenant.default_currency = "NOK"
    customer = db.session.get(Customer, shop["customer"])
    document = services.create_document(K.INVOICE, customer, {"currency": "EUR"})
    services.add_line(document, {"description": "Audit", "quantity": D(1),
                                 "unit_price": D("100"), "vat_rate_id": shop["standard"]})
    with pytest.raises(DocumentError, match="EUR"):
        issuing.issue_document(document, on=ISSUE_DAY)
    assert document.number is None
    ExchangeRateFactory(tenant=tenant, base_currency="NOK", quote_currency="EUR",
                        valid_on=date(2026, 11, 1), rate=D("0.08"))
    scoping.set_current_tenant(shop["tenant"])
    issuing.issue_document(document, on=ISSUE_DAY)
    assert document.exchange_rate == D("12.5")  # the inverse of 0.08


def test_the_orm_refuses_changes_to_an_issued_document(shop):
    document = _draft(shop)
    issuing.issue_document(document, on=ISSUE_DAY)
    db.session.flush()
    document.gross_total = D("1")
    with pytest.raises(ImmutableDocument, match="gross_total cannot change"):
        db.session.flush()
    db.session.rollback()
    scoping.set_current_tenant(shop["tenant"])
    issued = db.session.scalar(select(Document).where(Document.number.is_not(None)))
    assert issued is None  # the rollback took the whole test transaction's work back


def test_the_orm_refuses_new_lines_and_deletion_of_issued_documents(shop):
    document = _draft(shop)
    issuing.issue_document(document, on=ISSUE_DAY)
    db.session.flush()
    with pytest.raises(DocumentError, match="cannot be changed"):
        services.add_line(document, {"description": "x", "quantity": D(1),
                                     "unit_price": D(1), "vat_rate_id": shop["standard"]})
    document.lines.append(DocumentLine(position=9, description="x", quantity=D(1),
                                       unit_price=D(1), vat_rate_id=shop["standard"],
                                       vat_code="S25", vat_rate=D(25), vat_category="standard"))
    with pytest.raises(ImmutableDocument, match="cannot be added"):
        db.session.flush()
    db.session.rollback()


def test_state_changes_still_allowed_after_issue(shop):
    quote = _draft(shop, kind=K.QUOTE)
    issuing.issue_document(quote, on=ISSUE_DAY)
    assert quote.status == S.SENT and quote.valid_until == date(2026, 12, 20)
    services.move(quote, S.DECLINED)
    db.session.flush()
    with pytest.raises(DocumentError, match="cannot go from declined to accepted"):
        services.move(quote, S.ACCEPTED)


@pytest.mark.postgres
def test_raw_sql_cannot_update_or_delete_an_issued_invoice(shop):
    document = _draft(shop)
    issuing.issue_document(document, on=ISSUE_DAY)
    db.session.commit()
    scoping.set_current_tenant(shop["tenant"])
    document_id = document.id
    for statement in (
        "UPDATE documents SET gross_total = 1 WHERE id = :id",
        "UPDATE documents SET buyer = '{\"name\": \"x\"}' WHERE id = :id",
        "DELETE FROM documents WHERE id = :id",
        "UPDATE document_lines SET quantity = 99 WHERE document_id = :id",
        "DELETE FROM document_lines WHERE document_id = :id",
    ):
        savepoint = db.session.begin_nested()
        with pytest.raises(Exception, match="is issued"):
            db.session.execute(text(statement), {"id": document_id})
        savepoint.rollback()
    # Its state may still change (payments, credit notes).
    db.session.execute(text("UPDATE documents SET status = 'paid' WHERE id = :id"),
                       {"id": document_id})


def test_quote_to_order_to_partial_invoices(shop):
    quote = _draft(shop, kind=K.QUOTE)
    issuing.issue_document(quote, on=ISSUE_DAY)
    order = conversion.convert_quote_to_order(quote)
    assert quote.status == S.CONVERTED and order.source_id == quote.id
    assert [line.source_line_id for line in order.lines] == [line.id for line in quote.lines]
    with pytest.raises(DocumentError, match="already converted"):
        conversion.convert_quote_to_order(quote)
    services.update_line(order.lines[1], {"product_id": shop["bread"], "quantity": D(12),
                                          "unit_price": D("39.90"), "discount_percent": D(0)})
    issuing.issue_document(order, on=ISSUE_DAY)
    assert order.number == "OC-2026-0001" and order.status == S.CONFIRMED
    hour, bread = order.lines
    first = conversion.invoice_order(order, {hour.id: D("1.5"), bread.id: D("12")})
    issuing.issue_document(first, on=ISSUE_DAY)
    assert order.status == S.PARTLY_INVOICED
    assert conversion.order_remaining(order) == {hour.id: D("1.0"), bread.id: D("0")}
    with pytest.raises(DocumentError, match="2 is more than the 1 left to invoice"):
        conversion.invoice_order(order, {hour.id: D("2")})
    rest = conversion.invoice_order(order)
    assert [(line.quantity) for line in rest.lines] == [D("1.0")]
    issuing.issue_document(rest, on=ISSUE_DAY)
    assert order.status == S.INVOICED
    family = [(depth, doc.number) for depth, doc in conversion.chain_of(rest)]
    assert family == [(0, "Q-2026-0001"), (1, "OC-2026-0001"), (2, "INV-2026-00001"),
                      (2, "INV-2026-00002")]


def test_two_drafts_cannot_together_invoice_more_than_the_order(shop):
    order = _draft(shop, kind=K.ORDER, lines=(("bread", "10"),))
    issuing.issue_document(order, on=ISSUE_DAY)
    one, two = conversion.invoice_order(order), conversion.invoice_order(order)
    issuing.issue_document(one, on=ISSUE_DAY)
    with pytest.raises(DocumentError, match="more than the 0 left"):
        issuing.issue_document(two, on=ISSUE_DAY)
    assert two.number is None


def test_credit_notes_full_and_partial_never_exceed_the_invoice(shop):
    invoice = _draft(shop)
    issuing.issue_document(invoice, on=ISSUE_DAY)
    hour, bread = invoice.lines
    partial = conversion.create_credit_note(invoice, {bread.id: D("4")})
    assert [line.quantity for line in partial.lines] == [D("-4")]
    assert partial.gross_total == D("-178.75")  # 4 × 39.90 = 159.60 + 12 % VAT 19.15
    issuing.issue_document(partial, on=ISSUE_DAY)
    assert partial.number == "CN-2026-0001" and invoice.status == S.ISSUED
    with pytest.raises(DocumentError, match="7 is more than the 6 left to credit"):
        conversion.create_credit_note(invoice, {bread.id: D("7")})
    rest = conversion.create_credit_note(invoice)
    assert sorted(line.quantity for line in rest.lines) == [D("-6"), D("-2.5")]
    issuing.issue_document(rest, on=ISSUE_DAY)
    assert invoice.status == S.CREDITED
    with pytest.raises(DocumentError, match="fully credited"):
        conversion.create_credit_note(invoice)


def test_a_credit_note_with_positive_quantities_is_refused(shop):
    invoice = _draft(shop)
    issuing.issue_document(invoice, on=ISSUE_DAY)
    note = conversion.create_credit_note(invoice)
    with pytest.raises(DocumentError, match="negative"):
        services.update_line(note.lines[0], {"description": "x", "quantity": D(1),
                                             "unit_price": D(1),
                                             "vat_rate_id": shop["standard"]})


def test_a_paid_proforma_becomes_the_final_invoice(shop):
    proforma = _draft(shop, kind=K.PROFORMA)
    issuing.issue_document(proforma, on=ISSUE_DAY)
    with pytest.raises(DocumentError, match="paid proforma"):
        conversion.convert_proforma(proforma)
    payments.record_prepayment(proforma, proforma.gross_total, ISSUE_DAY)
    invoice = conversion.convert_proforma(proforma)
    # The prepayment settles the final invoice (R3.7): paid follows payments.
    assert invoice.number.startswith("INV-") and invoice.status == S.PAID
    assert invoice.paid_total == invoice.gross_total
    assert proforma.status == S.CONVERTED and invoice.source_id == proforma.id
    assert invoice.gross_total == proforma.gross_total


def test_lines_for_a_site_of_another_customer_are_refused(shop):
    tenant = db.session.get(Tenant, shop["tenant"])
    site = SiteFactory(tenant=tenant, code="HQ", name="Head office")
    site_id = site.id
    document = _draft(shop, lines=())
    with pytest.raises(DocumentError, match="another customer"):
        services.add_line(document, {"product_id": shop["hour"], "quantity": D(1),
                                     "site_id": site_id})


def test_monthly_series_formats_and_restarts(shop):
    issuing.update_series(K.INVOICE, "{yy}{mm}-{counter:03}", "monthly")
    numbers = []
    for day in (date(2026, 11, 30), date(2026, 11, 30), date(2026, 12, 1)):
        document = _draft(shop, lines=(("bread", "1"),))
        issuing.issue_document(document, on=day, render=False)
        numbers.append(document.number)
    assert numbers == ["2611-001", "2611-002", "2612-001"]
    with pytest.raises(DocumentError, match="needs {mm}"):
        issuing.update_series(K.INVOICE, "F-{yyyy}-{counter}", "monthly")


def test_verify_finds_a_tampered_document(shop):
    for _ in range(3):
        issuing.issue_document(_draft(shop, lines=(("bread", "1"),)), on=ISSUE_DAY)
    db.session.flush()
    documents = db.session.scalars(
        select(Document).where(Document.kind == K.INVOICE)
        .order_by(Document.chain_position)).all()
    assert verify_series("invoice", documents) == []
    # What a tamperer would do in the database, bypassing the ORM's wall (not the check).
    db.session.expunge(documents[1])
    documents[1].notes = "changed"
    breaks = verify_series("invoice", documents)
    assert [(b.number, b.problem) for b in breaks] == [
        ("INV-2026-00002", "its content does not match its hash")]
    breaks = verify_series("invoice", [documents[0], documents[2]])
    assert {b.problem.split(":")[0] for b in breaks} >= {
        "chain position 3, expected 2", "does not link to the previous document"}


def test_sent_quotes_past_their_validity_expire_and_can_still_be_accepted(shop):
    old = _draft(shop, kind=K.QUOTE, lines=(("bread", "1"),))
    issuing.issue_document(old, on=date(2026, 10, 1), render=False)
    fresh = _draft(shop, kind=K.QUOTE, lines=(("bread", "1"),))
    issuing.issue_document(fresh, on=ISSUE_DAY, render=False)
    assert services.expire_quotes(ISSUE_DAY) == 1
    assert (old.status, fresh.status) == (S.EXPIRED, S.SENT)
    assert services.expire_quotes(ISSUE_DAY) == 0  # running it again changes nothing
    order = conversion.convert_quote_to_order(old)  # a late yes is still a yes
    assert old.status == S.CONVERTED and order.kind == K.ORDER


def test_a_line_continuing_another_document_than_the_source_names_it_when_printed(shop):
    from saas.billing.documents.printing import printable

    first = _draft(shop, kind=K.ORDER, lines=(("bread", "2"),))
    other = _draft(shop, kind=K.ORDER, lines=(("bread", "3"),))
    for order in (first, other):
        issuing.issue_document(order, on=ISSUE_DAY, render=False)
    invoice = conversion.invoice_order(first)
    services.add_line(invoice, {"description": "Bread (second order)", "quantity": D(3),
                                "unit_price": D("39.90"), "vat_rate_id": shop["reduced"],
                                "source_line_id": other.lines[0].id})
    db.session.flush()
    lines = printable(invoice).lines
    assert [line.reference for line in lines] == ["", f"Order confirmation {other.number}"]
