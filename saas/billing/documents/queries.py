"""Reads for the document pages: the lists with their sums, and the quote/order report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, cast, exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from saas.billing.customers.models import Customer, DeliveryPreference
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db

K, S = DocumentKind, DocumentStatus
ZERO = Decimal(0)
OPEN_INVOICE_STATES = (S.ISSUED, S.PARTLY_PAID)


@dataclass(frozen=True)
class ListFilters:
    kind: DocumentKind
    q: str = ""
    status: str = ""
    customer_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    undelivered: bool = False


# What customers who take e-mail still wait for: open invoices, proformas and credit notes
# that no e-mail carried or is carrying (never sent, or every attempt failed).
E_MAILED_KINDS = (K.INVOICE, K.PROFORMA, K.CREDIT_NOTE)
GOING_OR_GONE = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT)


def _email_delivery(*statuses: DeliveryStatus) -> Any:
    return exists().where(Delivery.document_id == Document.id, Delivery.channel == "email",
                          Delivery.status.in_(statuses))


def undelivered_condition() -> tuple:
    """Open documents of e-mail customers that no e-mail carried or is carrying (join
    Customer)."""
    return (Document.kind.in_(E_MAILED_KINDS), Document.status.in_(OPEN_INVOICE_STATES),
            Customer.delivery_preference.in_([DeliveryPreference.EMAIL, DeliveryPreference.BOTH]),
            ~_email_delivery(*GOING_OR_GONE))


def failed_delivery_condition() -> Any:
    """Of the undelivered: an e-mail was tried and failed."""
    return _email_delivery(DeliveryStatus.FAILED)


def _filtered(filters: ListFilters, today: date, *columns: Any) -> Select[Any]:
    """The documents (or these columns of them) that match the filters.

    Customers are joined only when a filter reads them (the search, undelivered): an inner
    join removes no document, but it would make the planner join every document of the
    kind before it can take a page in the list's order.
    """
    statement = select(*columns or (Document,)).where(Document.kind == filters.kind)
    if filters.q or filters.undelivered:
        statement = statement.join(Customer, Customer.id == Document.customer_id)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        statement = statement.where(or_(
            func.lower(func.coalesce(Document.number, "")).like(like),
            func.lower(Customer.name).like(like),
            cast(Customer.number, String).like(like),
        ))
    if filters.status:
        statement = statement.where(Document.status == filters.status)
    if filters.customer_id:
        statement = statement.where(Document.customer_id == filters.customer_id)
    day = func.coalesce(Document.issue_date, func.date(Document.created_at))
    if filters.date_from:
        statement = statement.where(day >= filters.date_from)
    if filters.date_to:
        statement = statement.where(day <= filters.date_to)
    if filters.overdue:
        statement = statement.where(Document.status.in_(OPEN_INVOICE_STATES),
                                    Document.due_date < today)
    if filters.undelivered:
        statement = statement.where(*undelivered_condition())
    return statement


# Drafts on top, then newest first. ix_documents_list_order holds (tenant_id, kind,
# number IS NULL, issue_date, id): read backwards it is this order, so a page of the
# unfiltered list is its first rows, not a sort of every document of the kind.
LIST_ORDER = (Document.number.is_(None).desc(), Document.issue_date.desc().nulls_first(),
              Document.id.desc())


def document_list(filters: ListFilters, today: date) -> Select[Any]:
    """The documents that match, newest first, drafts on top."""
    return _filtered(filters, today).options(selectinload(Document.customer)).order_by(
        *LIST_ORDER)


def document_ids(filters: ListFilters, today: date) -> Select[Any]:
    """The ids of the matching documents: the list's pager counts these (from an index
    alone when unfiltered) rather than whole rows."""
    return _filtered(filters, today, Document.id)


def document_sums_statement(filters: ListFilters, today: date) -> Select[Any]:
    """Currency, count, net and gross of the matching documents, a row per currency.

    Without filters (or by status) every column read is in ix_documents_tenant_kind_status,
    so PostgreSQL adds them up from the index alone. Still every matching document is read
    (100,000 invoices unfiltered): the list page loads its sums apart (views.pages.index).
    """
    return (_filtered(filters, today, Document.currency, func.count(),
                      func.sum(Document.net_total), func.sum(Document.gross_total))
            .group_by(Document.currency).order_by(Document.currency))


def document_sums(filters: ListFilters, today: date) -> list[dict[str, Any]]:
    """Count, net and gross of the matching documents, per currency."""
    rows = db.session.execute(document_sums_statement(filters, today)).all()
    return [{"currency": currency, "count": count, "net": Decimal(net or 0),
             "gross": Decimal(gross or 0)} for currency, count, net, gross in rows]


# --- the quote / order difference report (R3.3) -------------------------------------------


@dataclass
class LineChange:
    what: str  # "changed", "added", "removed"
    description: str
    quote_quantity: Decimal | None
    order_quantity: Decimal | None
    quote_price: Decimal | None
    order_price: Decimal | None
    quote_net: Decimal
    order_net: Decimal

    @property
    def difference(self) -> Decimal:
        return self.order_net - self.quote_net


@dataclass
class OrderDifference:
    order: Document
    quote: Document
    changes: list[LineChange] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        return self.order.net_total - self.quote.net_total


def compare(quote_lines: list[Any], order_lines: list[Any]) -> list[LineChange]:
    """What changed from the quote's lines to the order's (matched by source_line_id)."""
    by_source = {line.source_line_id: line for line in order_lines if line.source_line_id}
    changes = []
    for quote_line in quote_lines:
        order_line = by_source.get(quote_line.id)
        if order_line is None:
            changes.append(LineChange("removed", quote_line.description, quote_line.quantity,
                                      None, quote_line.net_unit_price, None, quote_line.net,
                                      ZERO))
        elif (order_line.quantity, order_line.net_unit_price, order_line.description) != (
            quote_line.quantity, quote_line.net_unit_price, quote_line.description
        ):
            changes.append(LineChange("changed", order_line.description, quote_line.quantity,
                                      order_line.quantity, quote_line.net_unit_price,
                                      order_line.net_unit_price, quote_line.net,
                                      order_line.net))
    quote_ids = {line.id for line in quote_lines}
    for order_line in order_lines:
        if order_line.source_line_id not in quote_ids:
            changes.append(LineChange("added", order_line.description, None,
                                      order_line.quantity, None, order_line.net_unit_price,
                                      ZERO, order_line.net))
    return changes


def quote_order_differences(customer_id: int | None, date_from: date | None,
                            date_to: date | None) -> list[OrderDifference]:
    """Confirmed orders made from quotes, in the period, with what changed."""
    quote = aliased(Document)
    statement = (
        select(Document, quote)
        .join(quote, quote.id == Document.source_id)
        .where(Document.kind == K.ORDER, Document.number.is_not(None), quote.kind == K.QUOTE)
        .options(selectinload(Document.lines), selectinload(quote.lines),
                 selectinload(Document.customer))
        .order_by(Document.issue_date, Document.id)
    )
    if customer_id:
        statement = statement.where(Document.customer_id == customer_id)
    if date_from:
        statement = statement.where(Document.issue_date >= date_from)
    if date_to:
        statement = statement.where(Document.issue_date <= date_to)
    result = []
    for order, source in db.session.execute(statement):
        result.append(OrderDifference(order, source, compare(source.lines, order.lines)))
    return result



# --- the customer page (R1.3) -------------------------------------------------------------


def customer_documents(customer_id: int, limit: int = 10) -> list[Document]:
    """The customer's newest documents, drafts included."""
    return db.session.scalars(
        select(Document).where(Document.customer_id == customer_id)
        .order_by(Document.id.desc()).limit(limit)).all()


def customer_statistics(customer_id: int) -> list[dict[str, Any]]:
    """Count and net sum of issued quotes, orders and invoices per year and currency."""
    year = func.extract("year", Document.issue_date)
    rows = db.session.execute(
        select(year, Document.kind, Document.currency, func.count(),
               func.sum(Document.net_total))
        .where(Document.customer_id == customer_id, Document.number.is_not(None),
               Document.kind.in_([K.QUOTE, K.ORDER, K.INVOICE, K.CREDIT_NOTE]))
        .group_by(year, Document.kind, Document.currency)
        .order_by(year.desc(), Document.currency)).all()
    table: dict[tuple[int, str], dict[str, Any]] = {}
    for row_year, kind, currency, count, total in rows:
        entry = table.setdefault((int(row_year), currency), {
            "year": int(row_year), "currency": currency,
            **{k.value: {"count": 0, "net": ZERO} for k in K}})
        entry[DocumentKind(kind).value] = {"count": count, "net": Decimal(total or 0)}
    return list(table.values())
