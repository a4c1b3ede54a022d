"""Billable items (R5.8, R5.9): capture by product or by rules, prepaid volumes first,
billing onto invoices, crediting and deleting drafts reopen them, write-offs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.billing.catalog.models import Product
from saas.billing.contracts import services as contracts
from saas.billing.contracts.models import VolumeUsage
from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing
from saas.billing.documents import services as documents
from saas.billing.documents.models import Document
from saas.billing.work import items, specification
from saas.billing.work.models import BillableItem, ItemBilling, ItemStatus, QuantityMode
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import (
    CustomerFactory,
    CustomerPriceFactory,
    ProductFactory,
    TenantFactory,
    VatRateFactory,
    member,
)
from tests.factories_work import ActivityFactory, BillingRuleFactory

D = Decimal
DAY = date(2026, 11, 2)


@pytest.fixture()
def shop(db_session):
    """A tenant with a customer, an hourly product billed by started quarter hours with a
    one-hour minimum (1,000 NOK, 900 NOK for this customer) and a call-out fee (500 NOK)."""
    tenant = TenantFactory(currency="NOK")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Fjord Kraft AS")
        vat = VatRateFactory(tenant=tenant, rate=D(25))
        hour = ProductFactory(
            tenant=tenant,
            name="Consulting hour",
            unit="h",
            base_price=D("1000.00"),
            vat_rate=vat,
            quantity_increment=D("0.25"),
            minimum_quantity=D(1),
        )
        CustomerPriceFactory(
            tenant=tenant, customer=customer, product=hour, price=D("900.00"), currency="NOK"
        )
        fee = ProductFactory(
            tenant=tenant, name="Call-out fee", unit="pcs", base_price=D("500.00"), vat_rate=vat
        )
        db.session.commit()
        return {
            "tenant": tenant,
            "owner": owner,
            "customer": customer.id,
            "hour": hour.id,
            "fee": fee.id,
            "vat": vat.id,
        }


def get(model, object_id):
    return db.session.get(model, object_id)


def open_items(customer_id: int) -> list[tuple[str, int | None, Decimal, Decimal]]:
    return [
        (item.source_type, item.source_id, item.quantity, item.unit_price)
        for item in db.session.scalars(
            select(BillableItem)
            .where(BillableItem.customer_id == customer_id, BillableItem.status == ItemStatus.OPEN)
            .order_by(BillableItem.id)
        )
    ]


def capture_hours(shop, source_id: int, hours: str, **extra) -> list[BillableItem]:
    return items.capture(
        event="time_entry",
        customer=get(Customer, shop["customer"]),
        source_type="time_entry",
        source_id=source_id,
        occurred_on=DAY,
        quantity=D(hours),
        product=get(Product, shop["hour"]),
        **extra,
    )


def test_a_product_given_item_is_rounded_by_the_product_and_priced_by_the_engine(shop):
    with scoping.tenant_context(shop["tenant"].id):
        [item] = capture_hours(shop, 7, "2.1", description="Grid study")
        assert (item.quantity, item.unit, item.unit_price, item.currency) == (
            D("2.25"),
            "h",
            D("900.0000"),
            "NOK",
        )  # started quarter; the customer's price
        assert (item.status, item.event, item.description) == (
            ItemStatus.OPEN,
            "time_entry",
            "Grid study",
        )
        assert item.amount == D("2025.00")


def test_capturing_the_same_source_again_updates_the_open_item(shop):
    with scoping.tenant_context(shop["tenant"].id):
        [first] = capture_hours(shop, 7, "2.1")
        [again] = capture_hours(shop, 7, "0.2", unit_price=D("1200"))
        assert again.id == first.id
        assert open_items(shop["customer"]) == [("time_entry", 7, D(1), D("1200.0000"))]


def test_an_invoiced_item_is_not_captured_again(shop):
    with scoping.tenant_context(shop["tenant"].id):
        [item] = capture_hours(shop, 7, "3")
        items.bill_items(get(Customer, shop["customer"]), [item.id])
        assert capture_hours(shop, 7, "5") == []
        assert db.session.scalar(select(BillableItem.quantity)) == D(3)


def test_rules_decide_product_and_quantity_by_event_and_activity(shop):
    with scoping.tenant_context(shop["tenant"].id):
        tenant = shop["tenant"]
        development = ActivityFactory(tenant=tenant, name="Development")
        travel = ActivityFactory(tenant=tenant, name="Travel")
        BillingRuleFactory(
            tenant=tenant,
            event="time_entry",
            product=get(Product, shop["hour"]),
            activity_id=development.id,
            quantity_mode=QuantityMode.HOURS,
        )
        BillingRuleFactory(
            tenant=tenant,
            event="time_entry",
            product=get(Product, shop["fee"]),
            activity_id=travel.id,
            quantity_mode=QuantityMode.FIXED,
            fixed_quantity=D(1),
        )
        BillingRuleFactory(
            tenant=tenant,
            event="time_entry",
            product=get(Product, shop["fee"]),
            activity_id=None,
            quantity_mode=QuantityMode.FIXED,
            fixed_quantity=D(2),
            is_enabled=False,
        )
        customer = get(Customer, shop["customer"])

        def capture(source_id, activity):
            return [
                (item.product_id, item.quantity)
                for item in items.capture(
                    event="time_entry",
                    customer=customer,
                    source_type="time_entry",
                    source_id=source_id,
                    occurred_on=DAY,
                    quantity=D("0.5"),
                    activity=activity,
                )
            ]

        assert capture(1, get(type(development), development.id)) == [(shop["hour"], D(1))]
        assert capture(2, get(type(travel), travel.id)) == [(shop["fee"], D(1))]
        assert capture(3, None) == []  # no enabled rule for work without an activity


def test_a_prepaid_volume_is_used_first_and_only_the_excess_becomes_an_item(shop):
    with scoping.tenant_context(shop["tenant"].id):
        customer = get(Customer, shop["customer"])
        contract = contracts.create_contract(
            customer,
            {
                "start_date": date(2026, 1, 1),
                "billing_period": "monthly",
                "in_advance": True,
                "billing_day": 1,
                "title": "Support",
            },
        )
        contracts.add_line(
            contract,
            {
                "description": "Support, flat fee",
                "quantity": D(1),
                "unit_price": D("5000"),
                "vat_rate_id": shop["vat"],
                "included_quantity": D(4),
                "overage_product_id": shop["hour"],
            },
        )
        assert capture_hours(shop, 1, "3") == []  # within the 4 h included
        [excess] = capture_hours(shop, 2, "2")
        assert (excess.quantity, excess.contract_id) == (D(1), contract.id)
        # Corrected down, the second entry fits the volume: its item goes, its use stays.
        assert capture_hours(shop, 2, "1") == []
        assert open_items(shop["customer"]) == []
        used = db.session.scalars(select(VolumeUsage.quantity).order_by(VolumeUsage.id)).all()
        assert used == [D(3), D(1)]
        assert items.withdraw("time_entry", 2) == 0
        assert db.session.scalars(select(VolumeUsage.quantity)).all() == [D(3)]


def test_billing_puts_one_line_per_item_and_crediting_the_line_reopens_it(shop):
    with scoping.tenant_context(shop["tenant"].id):
        customer = get(Customer, shop["customer"])
        [first] = capture_hours(shop, 1, "2")
        [second] = capture_hours(shop, 2, "1.5")
        invoice = items.bill_items(customer, [first.id, second.id])
        assert [(line.quantity, line.unit_price, line.net) for line in invoice.lines] == [
            (D(2), D("900.0000"), D("1800.00")),
            (D("1.5"), D("900.0000"), D("1350.00")),
        ]
        assert (first.status, first.document_line_id) == (ItemStatus.INVOICED, invoice.lines[0].id)
        assert invoice.gross_total == D("3937.50")
        issuing.issue_document(invoice, render=False)
        with pytest.raises(items.BillingError, match="invoiced already"):
            items.withdraw("time_entry", 1)

        credit = conversion.create_credit_note(invoice, {invoice.lines[0].id: D(2)})
        issuing.issue_document(credit, render=False)
        assert (first.status, first.document_line_id) == (ItemStatus.OPEN, None)
        assert second.status == ItemStatus.INVOICED
        again = items.bill_items(customer, [first.id])
        assert again.id != invoice.id and first.document_line_id == again.lines[0].id
        # Every line that billed it is kept, and the first invoice's specification is whole.
        billings = db.session.scalars(
            select(ItemBilling).where(ItemBilling.item_id == first.id).order_by(ItemBilling.id)
        ).all()
        assert [(b.document_line_id, b.credit_note_id) for b in billings] == [
            (invoice.lines[0].id, credit.id),
            (again.lines[0].id, None),
        ]
        spec = specification.specification_of(invoice)
        assert [(row.quantity, row.amount) for _, rows in spec.groups for row in rows] == [
            (D(2), D("1800.00")),
            (D("1.5"), D("1350.00")),
        ]


def test_a_partly_credited_line_keeps_its_item_invoiced(shop):
    with scoping.tenant_context(shop["tenant"].id):
        [item] = capture_hours(shop, 1, "2")
        invoice = items.bill_items(get(Customer, shop["customer"]), [item.id])
        issuing.issue_document(invoice, render=False)
        credit = conversion.create_credit_note(invoice, {invoice.lines[0].id: D(1)})
        issuing.issue_document(credit, render=False)
        assert item.status == ItemStatus.INVOICED


def test_deleting_the_draft_or_its_line_reopens_the_items(shop):
    with scoping.tenant_context(shop["tenant"].id):
        customer = get(Customer, shop["customer"])
        [first] = capture_hours(shop, 1, "2")
        [second] = capture_hours(shop, 2, "3")
        draft = items.bill_items(customer, [first.id])
        assert items.bill_items(customer, [second.id], invoice=draft).id == draft.id
        documents.remove_line(draft.lines[0])
        db.session.flush()
        db.session.refresh(first)
        assert (first.status, first.document_line_id) == (ItemStatus.OPEN, None)
        documents.delete_draft(draft)
        db.session.flush()
        db.session.refresh(second)
        assert second.status == ItemStatus.OPEN
        assert db.session.scalar(select(Document.id)) is None
        assert db.session.scalar(select(ItemBilling.id)) is None  # a draft billed nothing


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"item_ids": []}, "Choose at least one open item"),
        ({"other_customer": True}, "Choose items of Fjord Kraft AS only"),
        ({"issued": True}, "Choose a draft invoice of Fjord Kraft AS"),
    ],
)
def test_billing_refuses_what_it_cannot_bill_and_saves_nothing(shop, change, message):
    with scoping.tenant_context(shop["tenant"].id):
        customer = get(Customer, shop["customer"])
        [item] = capture_hours(shop, 1, "2")
        ids = change.get("item_ids", [item.id])
        invoice = None
        if change.get("other_customer"):
            other = CustomerFactory(tenant=shop["tenant"])
            [foreign] = items.capture(
                event="time_entry",
                customer=get(Customer, other.id),
                source_type="manual",
                source_id=None,
                occurred_on=DAY,
                quantity=D(1),
                product=get(Product, shop["fee"]),
            )
            ids = [item.id, foreign.id]
        if change.get("issued"):
            invoice = items.bill_items(customer, [item.id])
            issuing.issue_document(invoice, render=False)
            [item] = capture_hours(shop, 2, "1")
            ids = [item.id]
        with pytest.raises(items.BillingError, match=message):
            items.bill_items(customer, ids, invoice=invoice)
        assert item.status == ItemStatus.OPEN


def test_written_off_items_keep_the_reason_and_can_be_reopened(shop):
    with scoping.tenant_context(shop["tenant"].id):
        [item] = capture_hours(shop, 1, "2")
        with pytest.raises(items.BillingError, match="Say why"):
            items.write_off(item, "  ")
        items.write_off(item, "Goodwill: the outage was ours")
        assert (item.status, item.write_off_reason) == (
            ItemStatus.WRITTEN_OFF,
            "Goodwill: the outage was ours",
        )
        assert capture_hours(shop, 1, "4") == []  # written off: not captured again
        items.reopen(item)
        assert (item.status, item.write_off_reason) == (ItemStatus.OPEN, "")


def test_capture_refuses_unknown_events_and_missing_quantities(shop):
    with scoping.tenant_context(shop["tenant"].id):
        customer = get(Customer, shop["customer"])
        with pytest.raises(items.BillingError, match="Unknown event"):
            items.capture(
                event="nonsense", customer=customer, source_type="x", source_id=1, occurred_on=DAY
            )
        with pytest.raises(items.BillingError, match="Give the quantity"):
            items.capture(
                event="time_entry",
                customer=customer,
                source_type="x",
                source_id=1,
                occurred_on=DAY,
                product=get(Product, shop["fee"]),
            )
        assert open_items(shop["customer"]) == []
