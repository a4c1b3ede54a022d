"""Billable items (R5.8, R5.9): capture what must be billed, pull it onto invoices.

The shared API every source of billable work calls (time entries and tasks here;
protocols, guarding hours, cash-in-transit cards elsewhere):

- ``capture`` turns an event of a source into items. Given a ``product``, one item of it;
  otherwise the tenant's enabled rules for the event (and the source's activity) each
  make one, with the rule's product and quantity (rules.py). Prepaid contract volumes
  (R4.6) are used first: the work is recorded against a flat-fee line of the product
  (``volumes.record_usage``, source "<type>:<id>:<product>") and only the excess becomes an
  item. One item per (source, product): capturing again updates an open item (or removes
  it once a volume covers it all), and leaves an invoiced or written-off one alone.
- ``withdraw`` removes a source's open items (the source was deleted or reopened) and
  refuses when one is invoiced already.
- ``bill_items`` puts open items on a new or a draft invoice, one line per item, and
  records on each item the line that billed it. Deleting that draft line (or the draft)
  opens the item again; so does issuing a credit note that credits all of the line.

Callers commit; nothing here does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, event, inspect, select, update
from sqlalchemy.orm import Session

from saas.billing.catalog import pricing
from saas.billing.catalog.models import Product, VatRate
from saas.billing.catalog.prices import PriceTermsNotFound, quote_price
from saas.billing.catalog.services import plain_decimal
from saas.billing.contracts import volumes
from saas.billing.contracts.models import Contract, VolumeUsage
from saas.billing.contracts.services import ContractError
from saas.billing.customers.models import Customer, Site
from saas.billing.documents import conversion
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.services import create_document, recalculate
from saas.billing.documents.states import DocumentKind
from saas.billing.money import quantize_unit_price
from saas.billing.tax import line_net
from saas.billing.work import rules as rule_math
from saas.billing.work.models import (
    Activity,
    BillableItem,
    BillingRule,
    ItemBilling,
    ItemStatus,
)
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.services import ServiceError

# Event key → label. Each source of billable work adds its events here.
EVENTS: dict[str, str] = {
    "time_entry": "Time entry logged",
    "task_closed": "Task closed",
    "protocol_completed": "Work protocol completed",
    "guarding_period": "Guarding period captured",
    "card_completed": "Cash-in-transit card completed",
    # An invoicing bureau's fees for a client's month (saas/outsourced_service/fees.py).
    "bureau_documents": "Bureau: documents issued for a client",
    "bureau_letters": "Bureau: letters posted for a client",
    "bureau_bank_lines": "Bureau: bank lines matched for a client",
    "bureau_month": "Bureau: a month of service to a client",
}


class BillingError(ServiceError):
    """Capturing or billing items was refused; ``field`` names the field concerned."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- capturing ---------------------------------------------------------------------------


def capture(
    *,
    event: str,
    customer: Customer,
    source_type: str,
    source_id: int | None,
    occurred_on: date,
    quantity: Decimal | None = None,
    activity: Activity | None = None,
    site: Site | None = None,
    product: Product | None = None,
    description: str = "",
    project_id: int | None = None,
    contract: Contract | None = None,
    unit_price: Decimal | None = None,
) -> list[BillableItem]:
    """Turn an event of a source into billable items; return the open items it left.

    With ``product``: one item of that product for ``quantity`` (rounded by the product's
    rule), priced by the pricing engine unless ``unit_price`` is given. Without: one item
    per enabled rule of the event matching the activity. Prepaid volumes go first.
    """
    if event not in EVENTS:
        raise BillingError(f"Unknown event {event!r}: one of {', '.join(EVENTS)}.", "event")
    if not source_type or len(source_type) > 30:
        raise BillingError("Name the source type in 1 to 30 characters.", "source_type")
    if not isinstance(occurred_on, date):
        raise BillingError("Give the day the work was done.", "occurred_on")
    if site is not None and site.customer_id != customer.id:
        raise BillingError(f"Site {site.code} belongs to another customer.", "site_id")
    if unit_price is not None and (not isinstance(unit_price, Decimal) or unit_price < 0):
        raise BillingError("A unit price is a decimal number of at least 0.", "unit_price")
    planned: dict[int, tuple[Product, Decimal]] = {}
    try:
        if product is not None:
            if quantity is None:
                raise BillingError("Give the quantity to bill.", "quantity")
            planned[product.id] = (
                product,
                rule_math.rule_quantity(rule_math.HOURS, quantity, rounding=_rounding(product)),
            )
        else:
            enabled = db.session.scalars(
                select(BillingRule)
                .where(BillingRule.event == event, BillingRule.is_enabled.is_(True))
                .order_by(BillingRule.id)
            ).all()
            for rule in rule_math.matching(enabled, event, activity.id if activity else None):
                amount = rule_math.rule_quantity(
                    rule.quantity_mode.value, quantity, rule.fixed_quantity, _rounding(rule.product)
                )
                earlier = planned.get(rule.product_id)
                planned[rule.product_id] = (
                    rule.product,
                    amount + (earlier[1] if earlier else Decimal(0)),
                )
    except ValueError as exc:
        if isinstance(exc, BillingError):
            raise
        raise BillingError(str(exc), "quantity") from None
    items = []
    for chosen, amount in planned.values():
        item = _capture_one(
            event=event,
            customer=customer,
            source_type=source_type,
            source_id=source_id,
            occurred_on=occurred_on,
            product=chosen,
            quantity=amount,
            site=site,
            description=description,
            project_id=project_id,
            contract=contract,
            unit_price=unit_price,
        )
        if item is not None:
            items.append(item)
    return items


def _rounding(product: Product) -> rule_math.Rounding:
    return rule_math.Rounding(product.quantity_increment, product.minimum_quantity)


def _usage_source(source_type: str, source_id: int | None, product_id: int) -> str:
    return f"{source_type}:{source_id}:{product_id}"[:40]


def _capture_one(
    *,
    event: str,
    customer: Customer,
    source_type: str,
    source_id: int | None,
    occurred_on: date,
    product: Product,
    quantity: Decimal,
    site: Site | None,
    description: str,
    project_id: int | None,
    contract: Contract | None,
    unit_price: Decimal | None,
) -> BillableItem | None:
    """One product's item for a source: created, updated, removed or left as billed."""
    item = None
    if source_id is not None:
        item = db.session.scalar(
            select(BillableItem)
            .where(
                BillableItem.source_type == source_type,
                BillableItem.source_id == source_id,
                BillableItem.product_id == product.id,
            )
            .with_for_update()
        )
        if item is not None and item.status != ItemStatus.OPEN:
            return None  # billed or written off: captured once, never again
        # The volume this source used at its last capture is given back first.
        db.session.execute(
            delete(VolumeUsage).where(
                VolumeUsage.source == _usage_source(source_type, source_id, product.id)
            )
        )
        db.session.flush()
    excess, volume_contract = _use_volume(
        customer,
        contract,
        product,
        occurred_on,
        quantity,
        description,
        _usage_source(source_type, source_id, product.id),
    )
    if excess <= 0:
        if item is not None:
            db.session.delete(item)
        return None
    price = unit_price if unit_price is not None else _quote(customer, product, excess, occurred_on)
    if item is None:
        item = BillableItem(
            source_type=source_type,
            source_id=source_id,
            product_id=product.id,
            customer_id=customer.id,
            status=ItemStatus.OPEN,
        )
        db.session.add(item)
    item.customer_id = customer.id
    item.event = event
    item.site_id = site.id if site else None
    item.project_id = project_id
    item.contract_id = (
        volume_contract.id if volume_contract else (contract.id if contract else None)
    )
    item.description = (description or "").strip() or product.name
    item.occurred_on = occurred_on
    item.quantity = excess
    item.unit = product.unit
    item.unit_price = quantize_unit_price(price)
    item.currency = customer.currency
    db.session.flush()
    return item


def _use_volume(
    customer: Customer,
    contract: Contract | None,
    product: Product,
    occurred_on: date,
    quantity: Decimal,
    description: str,
    source: str,
) -> tuple[Decimal, Contract | None]:
    """Record the quantity against a prepaid volume of the product; return the excess."""
    if quantity <= 0:
        return quantity, None
    found = (
        volumes.current_volumes([contract], occurred_on).get(contract.id, [])
        if contract is not None
        else volumes.customer_volumes(customer.id, occurred_on)
    )
    for volume in found:
        line, holder = volume.line, volume.contract
        if product.id not in (line.product_id, line.overage_product_id):
            continue
        if not volume.period.start <= occurred_on < volume.period.end:
            continue
        try:
            result = volumes.record_usage(
                holder,
                line.line_key,
                occurred_on,
                quantity,
                description or product.name,
                source=source,
            )
        except ContractError:
            continue  # not a day of service, or the line has no volume that day
        return result.excess, holder
    return quantity, None


def _quote(customer: Customer, product: Product, quantity: Decimal, on: date) -> Decimal:
    try:
        quote = quote_price(customer.id, product.id, quantity, on, customer.currency)
    except pricing.NoExchangeRate as exc:
        raise BillingError(
            f"{product.name}: {exc} Add the rate under Catalog → Exchange rates.", "product_id"
        ) from None
    except (PriceTermsNotFound, ValueError) as exc:
        raise BillingError(f"{product.name}: {exc}", "product_id") from None
    return quote.unit_price


def withdraw(source_type: str, source_id: int) -> int:
    """Remove a source's open items and the volume it used; return how many were removed.

    Refused when one of its items is invoiced already: credit that invoice line first.
    """
    items = db.session.scalars(
        select(BillableItem)
        .where(BillableItem.source_type == source_type, BillableItem.source_id == source_id)
        .with_for_update()
    ).all()
    billed = [item for item in items if item.status == ItemStatus.INVOICED]
    if billed:
        line = billed[0].document_line
        where = f" on {line.document.title}" if line is not None else ""
        raise BillingError(
            f"{billed[0].description} is invoiced already{where}: credit that"
            " invoice line before changing what it billed."
        )
    removed = 0
    for item in items:
        if item.status == ItemStatus.OPEN:
            db.session.delete(item)
            removed += 1
    db.session.execute(
        delete(VolumeUsage).where(VolumeUsage.source.like(f"{source_type}:{source_id}:%"))
    )
    db.session.flush()
    return removed


# --- billing -----------------------------------------------------------------------------


def bill_items(
    customer: Customer,
    item_ids: Iterable[int],
    *,
    invoice: Document | None = None,
    user_id: int | None = None,
) -> Document:
    """Pull open items onto a new draft invoice (or the given draft), one line per item."""
    wanted = sorted(set(item_ids))
    if not wanted:
        raise BillingError("Choose at least one open item to bill.", "item_ids")
    items = db.session.scalars(
        select(BillableItem)
        .where(BillableItem.id.in_(wanted), BillableItem.customer_id == customer.id)
        .order_by(BillableItem.occurred_on, BillableItem.id)
        .with_for_update()
    ).all()
    if len(items) != len(wanted):
        raise BillingError(f"Choose items of {customer.name} only.", "item_ids")
    for item in items:
        if item.status != ItemStatus.OPEN:
            raise BillingError(
                f"{item.description} ({item.occurred_on}) is"
                f" {item.status.label.lower()}, not open.",
                "item_ids",
            )
    if invoice is None:
        invoice = create_document(DocumentKind.INVOICE, customer, user_id=user_id)
    elif (
        invoice.kind != DocumentKind.INVOICE
        or not invoice.is_draft
        or invoice.customer_id != customer.id
    ):
        raise BillingError(f"Choose a draft invoice of {customer.name}.", "invoice_id")
    for item in items:
        if item.currency != invoice.currency:
            raise BillingError(
                f"{item.description} is priced in {item.currency}; the invoice"
                f" is in {invoice.currency}.",
                "item_ids",
            )
    vats = {
        rate.id: rate
        for rate in db.session.scalars(
            select(VatRate).where(VatRate.id.in_({item.product.vat_rate_id for item in items}))
        )
    }
    position = max((line.position for line in invoice.lines), default=0)
    lines = []
    for item in items:
        position += 1
        line = _line_for(item, vats[item.product.vat_rate_id], position)
        invoice.lines.append(line)
        lines.append(line)
    recalculate(invoice)
    db.session.flush()
    for item, line in zip(items, lines, strict=True):
        item.document_line_id = line.id
        item.status = ItemStatus.INVOICED
        db.session.add(ItemBilling(item_id=item.id, document_line_id=line.id, billed_by_id=user_id))
    audit.record(
        "work.items_billed",
        invoice,
        f"{len(items)} billable item(s) of {customer.name} put on {invoice.title}",
        {"item_ids": [item.id for item in items]},
        user_id=user_id,
    )
    return invoice


def _line_for(item: BillableItem, vat: VatRate, position: int) -> DocumentLine:
    """The invoice line that bills an item: its quantity at its price, as captured."""
    site = item.site
    return DocumentLine(
        position=position,
        product_id=item.product_id,
        description=item.description,
        quantity=item.quantity,
        unit=item.unit,
        unit_price=item.unit_price,
        discount_percent=Decimal(0),
        net=line_net(item.quantity, item.unit_price, item.currency),
        vat_rate_id=vat.id,
        vat_code=vat.code,
        vat_rate=vat.rate,
        vat_category=str(vat.category),
        vat_note=vat.note,
        site_id=site.id if site else None,
        site_label=f"{site.code} {site.name}" if site else "",
        period_start=item.occurred_on,
        period_end=item.occurred_on,
        price_explanation=f"Billable item {item.id} ({EVENTS.get(item.event, item.event)},"
        f" {item.occurred_on}): {plain_decimal(item.quantity)}"
        f" {item.unit} at {plain_decimal(item.unit_price)} {item.currency}.",
    )


def write_off(item: BillableItem, reason: str, *, user_id: int | None = None) -> None:
    """Decide an open item will not be billed, saying why."""
    reason = (reason or "").strip()
    if not reason:
        raise BillingError("Say why the item is written off.", "reason")
    if item.status != ItemStatus.OPEN:
        raise BillingError(f"{item.description} is {item.status.label.lower()}, not open.")
    item.status = ItemStatus.WRITTEN_OFF
    item.write_off_reason = reason[:1000]
    audit.record(
        "work.item_written_off",
        item,
        f"{item.description}: written off",
        {"reason": item.write_off_reason},
        user_id=user_id,
    )


def reopen(item: BillableItem, *, user_id: int | None = None) -> None:
    """Open a written-off item again, to be billed after all."""
    if item.status != ItemStatus.WRITTEN_OFF:
        raise BillingError(
            f"{item.description} is {item.status.label.lower()}: only a"
            " written-off item is reopened by hand."
        )
    item.status = ItemStatus.OPEN
    audit.record(
        "work.item_reopened",
        item,
        f"{item.description}: reopened",
        {"write_off_reason": item.write_off_reason},
        user_id=user_id,
    )
    item.write_off_reason = ""


def reopen_credited(credit_note: Document) -> list[BillableItem]:
    """Open again the items whose invoice line the issued credit note credited in full."""
    invoice = credit_note.source
    credited = {line.source_line_id for line in credit_note.lines if line.source_line_id}
    if invoice is None or not credited:
        return []
    remaining, left = conversion.credit_remaining(invoice), conversion.credit_left(invoice)
    whole = [
        line_id
        for line_id in credited
        if remaining.get(line_id, Decimal(0)) <= 0 or left.get(line_id, Decimal(0)) <= 0
    ]
    if not whole:
        return []
    items = db.session.scalars(
        select(BillableItem).where(BillableItem.document_line_id.in_(whole))
    ).all()
    for billing in db.session.scalars(
        select(ItemBilling).where(
            ItemBilling.document_line_id.in_(whole), ItemBilling.credit_note_id.is_(None)
        )
    ):
        billing.credit_note_id = credit_note.id
    for item in items:
        item.status = ItemStatus.OPEN
        item.document_line_id = None
        audit.record(
            "work.item_reopened",
            item,
            f"{item.description}: reopened by {credit_note.title}",
            {"invoice_id": invoice.id, "credit_note_id": credit_note.id},
        )
    return items


def items_of_source(source_type: str, source_ids: Sequence[int]) -> list[BillableItem]:
    """The items captured from the given sources, for their pages."""
    if not source_ids:
        return []
    return list(
        db.session.scalars(
            select(BillableItem)
            .where(BillableItem.source_type == source_type, BillableItem.source_id.in_(source_ids))
            .order_by(BillableItem.id)
        )
    )


# A draft line (or a whole draft) deleted: the items it billed are open again.
@event.listens_for(Session, "before_flush")
def _reopen_items_of_deleted_lines(
    session: Session, flush_context: object, instances: object
) -> None:
    line_ids = [
        obj.id for obj in session.deleted if isinstance(obj, DocumentLine) and obj.id is not None
    ]
    # A line removed from its draft's list is deleted as an orphan later in the flush.
    line_ids += [
        line.id
        for obj in session.dirty
        if isinstance(obj, Document)
        for line in inspect(obj).attrs.lines.history.deleted
        if line.id is not None
    ]
    document_ids = [
        obj.id for obj in session.deleted if isinstance(obj, Document) and obj.id is not None
    ]
    if not line_ids and not document_ids:
        return
    condition = BillableItem.document_line_id.in_(line_ids)
    if document_ids:
        condition = condition | BillableItem.document_line_id.in_(
            select(DocumentLine.id).where(DocumentLine.document_id.in_(document_ids))
        )
    with session.no_autoflush:
        session.execute(
            update(BillableItem)
            .where(condition)
            .values(status=ItemStatus.OPEN, document_line_id=None)
            .execution_options(synchronize_session="fetch")
        )
