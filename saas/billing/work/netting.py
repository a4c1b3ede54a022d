"""Netting statements between partner agencies (R5.10).

For a partner, a period and the partner's currency, the statement lists every open
billable item we gave the partner (services given) and every open payable item owed to it
(services received), each as it stands, with the arithmetic of ``netting_rules.py``.
Making it settles both sides and moves only the difference:

- we collect: a draft invoice to the partner with one line, "services given less services
  received", of the difference; the items given are invoiced by that line (crediting it
  reopens them, as any billed item), the payables are netted;
- we pay: a payable of the difference owed to the partner; the items given are settled by
  the statement (status invoiced, with no invoice line: the statement is their document),
  the payables are netted;
- even: both sides are settled by the statement alone.

A statement is withdrawn (``withdraw_statement``) while its invoice is still a draft, or
its payable of the difference still open: both sides are open again, as before.

The invoice line needs one VAT rate: services given under different rates are refused
(invoice them from the billable-items inbox instead). The statement keeps a copy of every
line, so its PDF prints the full specification whatever happens to the items later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from saas.billing.customers.models import Customer
from saas.billing.documents import services as documents
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.work.models import BillableItem, ItemBilling, ItemStatus
from saas.billing.work.netting_rules import Netting, Outcome, Side, SpecLine, line_net, net
from saas.billing.work.payable_models import (
    NettingLine,
    NettingStatement,
    PayableItem,
    PayableStatus,
)
from saas.billing.work.payables import terms_of
from saas.billing.work.source_common import SourceError, next_number
from saas.extensions import db
from saas.tenants import audit


@dataclass(frozen=True)
class Preview:
    partner: Customer
    start: date
    end: date
    given: list[BillableItem]
    received: list[PayableItem]
    lines: list[SpecLine]
    netting: Netting


def _check(partner: Customer, start: date, end: date) -> None:
    terms = terms_of(partner)
    if terms is None or not terms.is_partner:
        raise SourceError(f"{partner.name} is not a netting partner.", "partner_id")
    if end < start:
        raise SourceError("The period ends before it starts.", "end")


def preview(partner: Customer, start: date, end: date) -> Preview:
    """What a statement for the partner and period would settle."""
    _check(partner, start, end)
    given = list(
        db.session.scalars(
            select(BillableItem)
            .where(
                BillableItem.customer_id == partner.id,
                BillableItem.status == ItemStatus.OPEN,
                BillableItem.currency == partner.currency,
                BillableItem.occurred_on >= start,
                BillableItem.occurred_on <= end,
            )
            .order_by(BillableItem.occurred_on, BillableItem.id)
        )
    )
    received = list(
        db.session.scalars(
            select(PayableItem)
            .where(
                PayableItem.supplier_id == partner.id,
                PayableItem.status == PayableStatus.OPEN,
                PayableItem.currency == partner.currency,
                PayableItem.occurred_on >= start,
                PayableItem.occurred_on <= end,
            )
            .order_by(PayableItem.occurred_on, PayableItem.id)
        )
    )
    lines = [
        SpecLine(
            Side.GIVEN,
            item.occurred_on,
            item.description,
            item.quantity,
            item.unit,
            item.unit_price,
        )
        for item in given
    ]
    lines += [
        SpecLine(
            Side.RECEIVED,
            item.occurred_on,
            item.description,
            item.quantity,
            item.unit,
            item.unit_price,
        )
        for item in received
    ]
    return Preview(partner, start, end, given, received, lines, net(lines, partner.currency))


def _vat_rate_id(given: list[BillableItem]) -> int:
    rates = {item.product.vat_rate_id for item in given}
    if len(rates) != 1:
        raise SourceError(
            "The services given carry different VAT rates: one invoice line"
            " cannot net them. Invoice them from the billable-items inbox."
        )
    return rates.pop()


def make_statement(
    partner: Customer, start: date, end: date, *, user_id: int | None = None
) -> NettingStatement:
    """Settle the period with the partner: the statement, and the invoice or payable."""
    planned = preview(partner, start, end)
    if not planned.lines:
        raise SourceError(f"Nothing is open with {partner.name} between {start} and {end}.")
    result, currency = planned.netting, partner.currency
    statement = NettingStatement(
        number=next_number(NettingStatement, "NS"),
        partner_id=partner.id,
        partner=partner,
        period_start=start,
        period_end=end,
        currency=currency,
        given_total=result.given,
        received_total=result.received,
        difference=result.difference,
        outcome=result.outcome,
        created_by_id=user_id,
    )
    db.session.add(statement)
    db.session.flush()
    for spec, item in zip(planned.lines, [*planned.given, *planned.received], strict=True):
        db.session.add(
            NettingLine(
                statement_id=statement.id,
                side=spec.side,
                billable_item_id=item.id if spec.side is Side.GIVEN else None,
                payable_item_id=item.id if spec.side is Side.RECEIVED else None,
                occurred_on=spec.occurred_on,
                description=spec.description,
                quantity=spec.quantity,
                unit=spec.unit,
                unit_price=spec.unit_price,
                net=line_net(spec, currency),
            )
        )
    label = f"netting statement {statement.number}, {start} – {end}"
    line_id = None
    if result.outcome is Outcome.INVOICE:
        invoice = documents.create_document(DocumentKind.INVOICE, partner, user_id=user_id)
        line = documents.add_line(
            invoice,
            {
                "description": f"Services given {result.given} less services received"
                f" {result.received} {currency}, {label}",
                "quantity": 1,
                "unit_price": result.difference,
                "vat_rate_id": _vat_rate_id(planned.given),
            },
        )
        db.session.flush()  # the line's id, for the items it bills
        statement.document_id, line_id = invoice.id, line.id
    elif result.outcome is Outcome.PAYABLE:
        owed = PayableItem(
            supplier_id=partner.id,
            description=f"Difference owed, {label}",
            occurred_on=end,
            quantity=1,
            unit="",
            currency=currency,
            unit_price=result.difference,
            created_by_id=user_id,
        )
        db.session.add(owed)
        db.session.flush()
        statement.payable_item_id = owed.id
    for item in planned.given:
        item.status, item.document_line_id = ItemStatus.INVOICED, line_id
        if line_id is not None:  # the item's billing history, as bill_items keeps it
            db.session.add(
                ItemBilling(item_id=item.id, document_line_id=line_id, billed_by_id=user_id)
            )
    for payable in planned.received:
        payable.status, payable.netting_statement_id = PayableStatus.NETTED, statement.id
    db.session.flush()
    audit.record(
        "work.netting_statement",
        statement,
        f"Netting {statement.number} with {partner.name}: {result.outcome.label},"
        f" {result.difference} {currency}",
        user_id=user_id,
    )
    return statement


def withdraw_statement(statement: NettingStatement, *, user_id: int | None = None) -> None:
    """Undo a statement whose settlement has not gone anywhere yet."""
    document = db.session.get(Document, statement.document_id) if statement.document_id else None
    if document is not None and not document.is_draft:
        raise SourceError(f"{document.title} is issued: credit it instead.")
    owed = (
        db.session.get(PayableItem, statement.payable_item_id)
        if statement.payable_item_id
        else None
    )
    if owed is not None and owed.status is not PayableStatus.OPEN:
        raise SourceError("The difference is paid already.")
    given = [line.billable_item_id for line in statement.lines if line.side is Side.GIVEN]
    for item in db.session.scalars(select(BillableItem).where(BillableItem.id.in_(given))):
        if item.status == ItemStatus.INVOICED and (
            item.document_line_id is None or document is not None
        ):
            item.status, item.document_line_id = ItemStatus.OPEN, None
    for payable in db.session.scalars(
        select(PayableItem).where(PayableItem.netting_statement_id == statement.id)
    ):
        payable.status, payable.netting_statement_id = PayableStatus.OPEN, None
    if document is not None:
        documents.delete_draft(document)
    if owed is not None:
        db.session.delete(owed)
    audit.record(
        "work.netting_withdrawn",
        statement,
        f"Netting {statement.number} with {statement.partner.name} withdrawn",
        user_id=user_id,
    )
    db.session.delete(statement)
    db.session.flush()
