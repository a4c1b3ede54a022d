"""Reads for the payment pages: the list with its filters and sums, a customer's figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from saas.billing.customers.models import Customer
from saas.billing.documents.issuing import open_receivables
from saas.billing.payments.models import Allocation, Payment, PaymentKind
from saas.billing.payments.services import customer_credit
from saas.extensions import db

ZERO = Decimal(0)


@dataclass(frozen=True)
class PaymentFilters:
    q: str = ""  # the customer's name or number
    customer_id: int | None = None
    method: str = ""
    date_from: date | None = None
    date_to: date | None = None
    unallocated: bool = False  # only payments with credit left to allocate


def _allocated(payment: Any) -> Any:
    """What the payment's live allocations settle (a correlated subquery)."""
    return (select(func.coalesce(func.sum(Allocation.amount), 0))
            .where(Allocation.payment_id == payment.id, Allocation.reversed_at.is_(None))
            .scalar_subquery())


def _credit_left() -> Any:
    """The credit of the listed payment's customer in its currency (correlated)."""
    other = aliased(Payment)
    signed = case((other.kind == PaymentKind.REFUND, -other.amount), else_=other.amount)
    return (select(func.coalesce(func.sum(signed - _allocated(other)), 0))
            .where(other.customer_id == Payment.customer_id,
                   other.currency == Payment.currency, other.reversed_at.is_(None))
            .scalar_subquery())


def _filtered(filters: PaymentFilters) -> Select[Any]:
    statement = select(Payment).join(Customer, Customer.id == Payment.customer_id)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        statement = statement.where(or_(func.lower(Customer.name).like(like),
                                        cast(Customer.number, String).like(like),
                                        func.lower(Payment.reference).like(like)))
    if filters.customer_id:
        statement = statement.where(Payment.customer_id == filters.customer_id)
    if filters.method:
        statement = statement.where(Payment.method == filters.method)
    if filters.date_from:
        statement = statement.where(Payment.received_on >= filters.date_from)
    if filters.date_to:
        statement = statement.where(Payment.received_on <= filters.date_to)
    if filters.unallocated:
        statement = statement.where(and_(
            Payment.kind == PaymentKind.RECEIVED, Payment.reversed_at.is_(None),
            Payment.amount > _allocated(Payment), _credit_left() > 0))
    return statement


def payment_list(filters: PaymentFilters) -> Select[Any]:
    """The payments that match, newest first."""
    return (_filtered(filters)
            .options(selectinload(Payment.customer), selectinload(Payment.allocations))
            .order_by(Payment.received_on.desc(), Payment.id.desc()))


def payment_sums(filters: PaymentFilters) -> list[dict[str, Any]]:
    """Count and sum of the matching payments per currency: received and refunded, live."""
    matching = _filtered(filters).where(Payment.reversed_at.is_(None)).subquery()
    rows = db.session.execute(
        select(matching.c.currency, matching.c.kind, func.count(), func.sum(matching.c.amount))
        .group_by(matching.c.currency, matching.c.kind)
        .order_by(matching.c.currency, matching.c.kind)).all()
    sums: dict[str, dict[str, Any]] = {}
    for currency, kind, count, total in rows:
        entry = sums.setdefault(currency, {"currency": currency, "count": 0,
                                           "received": ZERO, "refunded": ZERO})
        entry["count"] += count
        entry["received" if kind == PaymentKind.RECEIVED else "refunded"] += Decimal(total)
    return list(sums.values())


@dataclass(frozen=True)
class Account:
    """A customer's figures in one currency (R1.3, R3.12)."""

    currency: str
    receivables: Decimal  # open on invoices less what is left of credit notes
    credit: Decimal  # paid and not allocated

    @property
    def balance(self) -> Decimal:
        return self.receivables - self.credit


def customer_accounts(customer: Customer) -> list[Account]:
    """The customer's figures per currency they deal in; their own currency always."""
    from saas.billing.payments.accounts import statement_currencies

    accounts = [Account(currency, open_receivables(customer.id, currency),
                        customer_credit(customer.id, currency))
                for currency in statement_currencies(customer)]
    return [a for a in accounts
            if a.currency == customer.currency or a.receivables or a.credit]
