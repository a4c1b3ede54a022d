"""Technical work protocols (R5.5): record the job, complete it, invoice it.

A protocol records a job at a customer's site: the work done, the hours (billed as its
labour product) and the materials used (products and quantities). Completing a protocol
marked billable captures its hours and materials as billable items (event
``protocol_completed``, one item per product: the same product twice is one item of the
summed quantity); it then appears in the list of finished work to invoice until those
items are billed. Reopening withdraws its open items (refused once any is invoiced).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from saas.billing.catalog.models import Product
from saas.billing.documents.models import Document
from saas.billing.work import items
from saas.billing.work.models import BillableItem, ItemStatus
from saas.billing.work.source_common import SourceError, next_number, own_customer, own_site
from saas.billing.work.source_models import ProtocolMaterial, SourceStatus, WorkProtocol
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.models import utcnow

SOURCE_TYPE = "protocol"
EVENT = "protocol_completed"
QUANTITY_LIMIT = Decimal("1e10")


def _product(product_id: int | None, field: str) -> Product | None:
    if not product_id:
        return None
    product = db.session.get(Product, product_id)
    if product is None:
        raise SourceError("Choose one of your products.", field)
    return product


def _quantity(value: Any, field: str, *, allow_zero: bool) -> Decimal:
    if value is None:
        raise SourceError("Enter a quantity.", field)
    value = Decimal(value)
    if value < 0 or (value == 0 and not allow_zero):
        raise SourceError(
            "Enter a quantity above 0." if not allow_zero else "Hours cannot be negative.", field
        )
    if value >= QUANTITY_LIMIT:
        raise SourceError("That quantity is too large.", field)
    return value


def _require_open(protocol: WorkProtocol) -> None:
    if protocol.status is not SourceStatus.OPEN:
        raise SourceError(f"Protocol {protocol.number} is completed: reopen it to change it.")


def create_protocol(values: dict[str, Any], *, user_id: int | None = None) -> WorkProtocol:
    """A new protocol for a customer (and one of its sites)."""
    customer = own_customer(values.get("customer_id"))
    site = own_site(customer, values.get("site_id"))
    if values.get("performed_on") is None:
        raise SourceError("Give the day the work was done.", "performed_on")
    hours = _quantity(values.get("hours") or Decimal(0), "hours", allow_zero=True)
    labour = _product(values.get("labour_product_id"), "labour_product_id")
    if hours and labour is None and values.get("billable"):
        raise SourceError("Choose the service the hours are billed as.", "labour_product_id")
    protocol = WorkProtocol(
        number=next_number(WorkProtocol, "P"),
        customer_id=customer.id,
        customer=customer,
        site_id=site.id if site else None,
        performed_on=values["performed_on"],
        technician=(values.get("technician") or "").strip()[:200],
        work_done=(values.get("work_done") or "").strip(),
        hours=hours,
        labour_product_id=labour.id if labour else None,
        billable=bool(values.get("billable")),
        created_by_id=user_id,
    )
    db.session.add(protocol)
    db.session.flush()
    audit.record(
        "work.protocol_created",
        protocol,
        f"Protocol {protocol.number} for {customer.name}",
        user_id=user_id,
    )
    return protocol


def add_material(protocol: WorkProtocol, product_id: int | None, quantity: Any) -> ProtocolMaterial:
    """A product used on the job."""
    _require_open(protocol)
    product = _product(product_id, "product_id")
    if product is None:
        raise SourceError("Choose the material used.", "product_id")
    material = ProtocolMaterial(
        protocol_id=protocol.id,
        product_id=product.id,
        quantity=_quantity(quantity, "quantity", allow_zero=False),
    )
    db.session.add(material)
    db.session.flush()
    db.session.expire(protocol, ["materials"])
    return material


def remove_material(protocol: WorkProtocol, material_id: int) -> None:
    _require_open(protocol)
    material = db.session.get(ProtocolMaterial, material_id)
    if material is None or material.protocol_id != protocol.id:
        raise SourceError("That material is not on this protocol.")
    db.session.delete(material)
    db.session.flush()
    db.session.expire(protocol, ["materials"])


def billed_quantities(protocol: WorkProtocol) -> dict[Product, Decimal]:
    """What the protocol bills: its hours as the labour product, its materials; per product."""
    quantities: dict[Product, Decimal] = defaultdict(Decimal)
    if protocol.hours and protocol.labour_product is not None:
        quantities[protocol.labour_product] += protocol.hours
    for material in protocol.materials:
        quantities[material.product] += material.quantity
    return dict(quantities)


def complete_protocol(protocol: WorkProtocol, *, user_id: int | None = None) -> list[BillableItem]:
    """Mark the job done; a billable protocol's hours and materials become billable items."""
    _require_open(protocol)
    captured: list[BillableItem] = []
    if protocol.billable:
        quantities = billed_quantities(protocol)
        if not quantities:
            raise SourceError(
                "A billable protocol needs hours (with their service) or materials.", "hours"
            )
        for product, quantity in quantities.items():
            captured += items.capture(
                event=EVENT,
                customer=protocol.customer,
                source_type=SOURCE_TYPE,
                source_id=protocol.id,
                occurred_on=protocol.performed_on,
                quantity=quantity,
                site=protocol.site,
                product=product,
                description=f"{product.name} — protocol {protocol.number}",
            )
    protocol.status, protocol.completed_at = SourceStatus.COMPLETED, utcnow()
    db.session.flush()
    audit.record(
        "work.protocol_completed",
        protocol,
        f"Protocol {protocol.number} completed"
        + (f", {len(captured)} billable item(s)" if protocol.billable else ""),
        user_id=user_id,
    )
    return captured


def reopen_protocol(protocol: WorkProtocol, *, user_id: int | None = None) -> None:
    """Back to open for corrections: its open billable items are withdrawn."""
    if protocol.status is SourceStatus.OPEN:
        return
    try:
        items.withdraw(SOURCE_TYPE, protocol.id)
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    protocol.status, protocol.completed_at = SourceStatus.OPEN, None
    db.session.flush()
    audit.record(
        "work.protocol_reopened", protocol, f"Protocol {protocol.number} reopened", user_id=user_id
    )


def open_items(protocol_ids: list[int] | None = None) -> dict[int, list[BillableItem]]:
    """Open billable items of completed protocols, per protocol (finished work to invoice)."""
    statement = (
        select(BillableItem)
        .where(BillableItem.source_type == SOURCE_TYPE, BillableItem.status == ItemStatus.OPEN)
        .order_by(BillableItem.id)
    )
    if protocol_ids is not None:
        statement = statement.where(BillableItem.source_id.in_(protocol_ids))
    found: dict[int, list[BillableItem]] = defaultdict(list)
    for item in db.session.scalars(statement):
        found[item.source_id].append(item)
    return dict(found)


def finished_to_invoice() -> list[tuple[WorkProtocol, list[BillableItem]]]:
    """Completed billable protocols with items still to invoice, oldest first."""
    waiting = open_items()
    if not waiting:
        return []
    protocols = db.session.scalars(
        select(WorkProtocol)
        .where(WorkProtocol.id.in_(waiting), WorkProtocol.status == SourceStatus.COMPLETED)
        .order_by(WorkProtocol.performed_on, WorkProtocol.id)
    ).all()
    return [(protocol, waiting[protocol.id]) for protocol in protocols]


def items_net(found: list[BillableItem]) -> Decimal:
    """What the items come to before VAT (each item's amount is rounded to the currency)."""
    return sum((item.amount for item in found), Decimal(0))


def invoice_protocol(protocol: WorkProtocol) -> Document:
    """A draft invoice built from the protocol's items (its hours and materials)."""
    if protocol.status is not SourceStatus.COMPLETED:
        raise SourceError(f"Complete protocol {protocol.number} before invoicing it.")
    waiting = open_items([protocol.id]).get(protocol.id, [])
    if not waiting:
        raise SourceError(f"Protocol {protocol.number} has nothing left to invoice.")
    return items.bill_items(protocol.customer, [item.id for item in waiting])
