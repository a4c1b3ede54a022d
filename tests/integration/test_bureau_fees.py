"""The bureau bills its clients with the engine that bills any work (R8): a month's activity
per client recorded once as billable items, priced by its rules and prices, invoiced."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer
from saas.billing.documents import issuing
from saas.billing.documents import services as documents
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments.models import BankLineStatus
from saas.billing.work import setup
from saas.billing.work.models import BillableItem, ItemStatus
from saas.extensions import db
from saas.outsourced_service import clients, fees
from saas.outsourced_service.models import BureauActivity, BureauClient
from saas.tenants import scoping
from tests.factories import CustomerFactory, CustomerPriceFactory, ProductFactory, VatRateFactory
from tests.factories_bank import BankLineFactory
from tests.factories_bureau import bureau_with_clients

OCTOBER = date(2026, 10, 1)


def _fee_rules(bureau) -> dict[str, int]:
    """Products and billing rules for the fee events, as a bureau sets them up; ids."""
    vat = VatRateFactory(tenant=bureau, rate=Decimal(23))
    prices = {"bureau_documents": "4.50", "bureau_letters": "6.80",
              "bureau_bank_lines": "1.20", "bureau_month": "490.00"}
    products = {event: ProductFactory(tenant=bureau, vat_rate=vat, currency="PLN",
                                      base_price=Decimal(price), name=event).id
                for event, price in prices.items()}
    with scoping.tenant_context(bureau.id):
        for event, product_id in products.items():
            monthly = event == "bureau_month"
            setup.create_rule({"name": event, "event": event, "product_id": product_id,
                               "quantity_mode": "fixed" if monthly else "entered",
                               "fixed_quantity": Decimal(1) if monthly else None})
        db.session.commit()
    return products


def _issue(client, on: date, count: int = 1) -> None:
    customer_id = CustomerFactory(tenant=client).id
    vat_id = VatRateFactory(tenant=client).id
    with scoping.tenant_context(client.id):
        for _ in range(count):
            document = documents.create_document(DocumentKind.INVOICE,
                                                 db.session.get(Customer, customer_id))
            documents.add_line(document, {"description": "Work", "quantity": Decimal(1),
                                          "unit_price": Decimal(100), "vat_rate_id": vat_id})
            issuing.issue_document(document, on=on, render=False)
        db.session.commit()


def _posted(client, at: datetime) -> None:
    """A letter of the client that went out by post (its batch marked printed) at a time."""
    with scoping.tenant_context(client.id):
        document_id = db.session.scalar(select(Document.id).where(Document.number.is_not(None)))
        db.session.add(Delivery(document_id=document_id, channel="post", recipient="Street 1",
                                subject="Invoice", status=DeliveryStatus.SENT, sent_at=at))
        db.session.commit()


def _served_since(bureau, client, day: datetime) -> None:
    with scoping.tenant_context(bureau.id):
        clients.open_link(client.id).started_at = day
        db.session.commit()


def _items(bureau) -> list[BillableItem]:
    with scoping.tenant_context(bureau.id):
        return db.session.scalars(select(BillableItem).order_by(BillableItem.id)).all()


def test_a_months_activity_becomes_fee_items_priced_by_the_bureaus_engine(app, db_session):
    bureau = bureau_with_clients(("Alfa AS", "Beta AS", "Gamma AS"))
    alfa, beta, gamma = bureau.clients
    products = _fee_rules(bureau.tenant)
    for client in (alfa, beta):
        _served_since(bureau.tenant, client, datetime(2026, 9, 1, tzinfo=UTC))
    _served_since(bureau.tenant, gamma, datetime(2026, 10, 20, 9, tzinfo=UTC))
    _issue(alfa, date(2026, 10, 5), count=2)
    _issue(alfa, date(2026, 11, 2))  # another month
    _posted(alfa, datetime(2026, 10, 12, 10, tzinfo=UTC))
    BankLineFactory(tenant=alfa, booked_on=date(2026, 10, 15), status=BankLineStatus.MATCHED)
    BankLineFactory(tenant=alfa, booked_on=date(2026, 10, 16))  # unmatched: no fee
    _issue(beta, date(2026, 10, 7))
    _issue(gamma, date(2026, 10, 5))  # before the bureau served it
    with scoping.tenant_context(bureau.tenant.id):
        link = clients.open_link(beta.id)
        clients.set_fees(link, {"fee_monthly": True}, user_id=bureau.admin.id)  # no per-item
        # Alfa's own price for documents, as the pricing engine applies it to any item.
        alfa_customer = clients.open_link(alfa.id).customer_id
        db.session.commit()
        CustomerPriceFactory(tenant=bureau.tenant, customer=db.session.get(Customer, alfa_customer),
                             product=db.session.get(Product, products["bureau_documents"]),
                             price=Decimal("3.00"), currency="PLN")

    with scoping.tenant_context(bureau.tenant.id):
        recorded = {a.client_tenant_id: a for a in fees.record_month(OCTOBER)}
        db.session.commit()
        counts = {client_id: (a.documents, a.letters, a.bank_lines, a.served_from)
                  for client_id, a in recorded.items()}
    assert counts == {
        alfa.id: (2, 1, 1, date(2026, 10, 1)),
        beta.id: (1, 0, 0, date(2026, 10, 1)),
        gamma.id: (0, 0, 0, date(2026, 10, 20)),
    }
    items = _items(bureau.tenant)
    billed = {(item.customer_id, item.event): (item.quantity, item.unit_price) for item in items}
    assert billed[alfa_customer, "bureau_documents"] == (Decimal(2), Decimal("3.00"))
    assert billed[alfa_customer, "bureau_letters"] == (Decimal(1), Decimal("6.80"))
    assert billed[alfa_customer, "bureau_bank_lines"] == (Decimal(1), Decimal("1.20"))
    assert sorted(event for (_, event) in billed) == sorted(
        ["bureau_documents", "bureau_letters", "bureau_bank_lines"] + ["bureau_month"] * 3)

    with scoping.tenant_context(bureau.tenant.id):  # again: the same items, updated
        fees.record_month(OCTOBER)
        db.session.commit()
    assert [item.id for item in _items(bureau.tenant)] == [item.id for item in items]


def test_the_monthly_fee_invoices_are_made_from_the_recorded_activity(app, db_session):
    bureau = bureau_with_clients(("Alfa AS", "Beta AS", "Gamma AS"))
    _fee_rules(bureau.tenant)
    for client in bureau.clients:
        _served_since(bureau.tenant, client, datetime(2026, 9, 1, tzinfo=UTC))
    _issue(bureau.clients[0], date(2026, 10, 5), count=3)
    args = ["bureau", "record-fees", "--month", "2026-10", "--tenant", bureau.tenant.slug,
            "--invoice"]

    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "3 client months recorded in 1 bureaus, 3 invoices made" in result.output
    with scoping.tenant_context(bureau.tenant.id):
        invoices = db.session.scalars(select(Document).where(
            Document.kind == DocumentKind.INVOICE).order_by(Document.id)).all()
        assert [invoice.status for invoice in invoices] == [DocumentStatus.DRAFT] * 3
        lines = {invoice.customer.name: sorted((line.description, line.net)
                                               for line in invoice.lines)
                 for invoice in invoices}
        links = db.session.scalars(select(BureauClient)).all()
        assert {link.customer_id for link in links} == {i.customer_id for i in invoices}
    assert lines["Alfa AS"] == [("Alfa AS, 2026-10: documents issued (3)", Decimal("13.50")),
                                ("Alfa AS, 2026-10: monthly fee", Decimal("490.00"))]
    assert lines["Beta AS"] == [("Beta AS, 2026-10: monthly fee", Decimal("490.00"))]
    assert {item.status for item in _items(bureau.tenant)} == {ItemStatus.INVOICED}

    again = app.test_cli_runner().invoke(args=args)  # recorded and invoiced once only
    assert "0 invoices made" in again.output
    with scoping.tenant_context(bureau.tenant.id):
        assert db.session.scalar(select(BureauActivity.documents).where(
            BureauActivity.client_tenant_id == bureau.clients[0].id)) == 3
        assert len(db.session.scalars(select(Document)).all()) == 3


def test_a_fee_turned_off_withdraws_its_open_item(db_session):
    bureau = bureau_with_clients(("Alfa AS",))
    _fee_rules(bureau.tenant)
    _served_since(bureau.tenant, bureau.clients[0], datetime(2026, 9, 1, tzinfo=UTC))
    with scoping.tenant_context(bureau.tenant.id):
        fees.record_month(OCTOBER)
        assert [item.event for item in _items(bureau.tenant)] == ["bureau_month"]
        link = clients.open_link(bureau.clients[0].id)
        clients.set_fees(link, {}, user_id=bureau.admin.id)
        fees.record_month(OCTOBER)
        db.session.commit()
    assert _items(bureau.tenant) == []


def test_the_fee_page_warns_of_events_without_a_rule_and_records(make_client, db_session):
    bureau = bureau_with_clients(("Alfa AS",))
    http = make_client(bureau.admin)
    page = http.get(f"/t/{bureau.tenant.slug}/bureau/fees?month=2026-10").text
    assert 'id="missing-rules"' in page and "Bureau: a month of service" in page
    _fee_rules(bureau.tenant)
    _served_since(bureau.tenant, bureau.clients[0], datetime(2026, 9, 1, tzinfo=UTC))
    response = http.post(f"/t/{bureau.tenant.slug}/bureau/fees",
                         data={"month": "2026-10", "action": "record"}, follow_redirects=True)
    assert "The activity of 2026-10 is recorded for 1 clients." in response.text
    assert 'id="missing-rules"' not in response.text
    assert "bureau_month: 1 ×" in response.text
