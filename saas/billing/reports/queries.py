"""Reads for the reports: what was open on a day (ageing), the journal and its balances.

"On a day" counts what had happened by the end of that day where the tenant is: documents
issued and payments received by then, allocations made by then and not undone before its
end (``cutoff``: the first moment of the next day), so a report for a past day says what
it said then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.payments.ledger import ACCOUNT_NAMES
from saas.billing.payments.models import (
    Allocation,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentKind,
)
from saas.billing.reports import ageing
from saas.billing.reports.exports import JournalRow
from saas.extensions import db

ZERO = Decimal(0)


def cutoff(on: date, timezone: str | None) -> datetime:
    """The first moment after the day, where the tenant is."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(on + timedelta(days=1), time(0), tzinfo=zone)


def _live(on: date, end: datetime) -> Any:
    """Allocations made by the day and not undone by its end."""
    return and_(Allocation.allocated_on <= on,
                or_(Allocation.reversed_at.is_(None), Allocation.reversed_at >= end))


def _customer(row: Any) -> ageing.Customer:
    return ageing.Customer(row.customer_id, row.customer_number, row.customer_name)


def receivables_ageing(currency: str, on: date, end: datetime) -> ageing.Ageing:
    """Every customer's open invoices in the currency by days past due on the day, with
    their credit (payments not allocated, credit notes not applied) beside them."""
    settled = (select(func.coalesce(func.sum(Allocation.amount), 0))
               .where(Allocation.invoice_id == Document.id, _live(on, end))
               .scalar_subquery())
    open_amount = (Document.gross_total - settled).label("open_amount")
    who = (Customer.id.label("customer_id"), Customer.number.label("customer_number"),
           Customer.name.label("customer_name"))
    invoices = db.session.execute(
        select(Document.id, Document.number, Document.due_date, open_amount, *who)
        .join(Customer, Customer.id == Document.customer_id)
        .where(Document.kind == K.INVOICE, Document.number.is_not(None),
               Document.currency == currency, Document.issue_date <= on,
               Document.gross_total > settled)
        .order_by(Document.due_date, Document.id)).all()
    items = [ageing.OpenInvoice(_customer(row), row.id, row.number, row.due_date,
                                Decimal(row.open_amount)) for row in invoices]
    return ageing.age(items, _credits(currency, on, end), on, currency)


def _credits(currency: str, on: date, end: datetime) -> dict[ageing.Customer, Decimal]:
    """Per customer: credit notes not applied and payments not allocated, on the day."""
    applied = (select(func.coalesce(func.sum(Allocation.amount), 0))
               .where(Allocation.credit_note_id == Document.id, _live(on, end))
               .scalar_subquery())
    who = (Customer.id.label("customer_id"), Customer.number.label("customer_number"),
           Customer.name.label("customer_name"))
    credits: dict[ageing.Customer, Decimal] = {}
    notes = db.session.execute(
        select(*who, func.sum(-Document.gross_total - applied).label("left"))
        .join(Customer, Customer.id == Document.customer_id)
        .where(Document.kind == K.CREDIT_NOTE, Document.number.is_not(None),
               Document.currency == currency, Document.issue_date <= on)
        .group_by(Customer.id, Customer.number, Customer.name)).all()
    used = (select(func.coalesce(func.sum(Allocation.amount), 0))
            .where(Allocation.payment_id == Payment.id, _live(on, end)).scalar_subquery())
    signed = case((Payment.kind == PaymentKind.REFUND, -Payment.amount),
                  else_=Payment.amount - used)
    paid = db.session.execute(
        select(*who, func.sum(signed).label("left"))
        .join(Customer, Customer.id == Payment.customer_id)
        .where(Payment.currency == currency, Payment.received_on <= on,
               or_(Payment.reversed_at.is_(None), Payment.reversed_at >= end))
        .group_by(Customer.id, Customer.number, Customer.name)).all()
    for row in (*notes, *paid):
        customer = _customer(row)
        credits[customer] = credits.get(customer, ZERO) + Decimal(row.left or 0)
    return credits


def ageing_currencies(default: str) -> list[str]:
    """The currencies invoices were issued in; the tenant's first."""
    found = set(db.session.scalars(
        select(Document.currency).where(Document.kind == K.INVOICE,
                                        Document.number.is_not(None)).distinct()))
    return [default, *sorted(found - {default})]


# --- the journal -------------------------------------------------------------------------


def journal_entries(date_from: date, date_to: date) -> Select[Any]:
    """The entries of the period with their lines, in the order they were posted."""
    return (select(JournalEntry)
            .where(JournalEntry.posted_on >= date_from, JournalEntry.posted_on <= date_to)
            .options(selectinload(JournalEntry.lines))
            .order_by(JournalEntry.posted_on, JournalEntry.id))


def customer_numbers(entries: list[JournalEntry]) -> dict[int, int]:
    """The customers named on the entries' lines: id → number, in one query."""
    ids = {line.customer_id for entry in entries for line in entry.lines if line.customer_id}
    if not ids:
        return {}
    return {customer_id: number for customer_id, number in db.session.execute(
        select(Customer.id, Customer.number).where(Customer.id.in_(ids)))}


def journal_rows(date_from: date, date_to: date) -> list[JournalRow]:
    """Every journal line of the period, for the accountant's export."""
    rows = db.session.execute(
        select(JournalEntry.posted_on, JournalEntry.id, JournalEntry.kind,
               JournalEntry.description, JournalEntry.currency, JournalLine.account,
               JournalLine.debit, JournalLine.credit, JournalLine.vat_code,
               Customer.number.label("customer_number"))
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .outerjoin(Customer, Customer.id == JournalLine.customer_id)
        .where(JournalEntry.posted_on >= date_from, JournalEntry.posted_on <= date_to)
        .order_by(JournalEntry.posted_on, JournalEntry.id, JournalLine.id)).all()
    return [JournalRow(row.posted_on, row.id, row.kind, row.description, row.account,
                       ACCOUNT_NAMES.get(row.account, ""), row.customer_number, row.debit,
                       row.credit, row.currency, row.vat_code) for row in rows]


@dataclass(frozen=True)
class AccountBalance:
    account: str
    currency: str
    opening: Decimal  # debits less credits before the period
    debit: Decimal  # in the period
    credit: Decimal

    @property
    def name(self) -> str:
        return ACCOUNT_NAMES.get(self.account, "")

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit


@dataclass
class TrialBalance:
    currency: str
    accounts: list[AccountBalance] = field(default_factory=list)

    def _sum(self, name: str) -> Decimal:
        return sum((getattr(a, name) for a in self.accounts), ZERO)

    @property
    def debit(self) -> Decimal:
        return self._sum("debit")

    @property
    def credit(self) -> Decimal:
        return self._sum("credit")

    @property
    def closing(self) -> Decimal:
        return self._sum("closing")  # zero when the books balance


def trial_balance(date_from: date, date_to: date) -> list[TrialBalance]:
    """Per currency, each account's opening balance, the period's debits and credits and
    the closing balance (debit balances positive, credit balances negative)."""
    before = JournalEntry.posted_on < date_from
    rows = db.session.execute(
        select(JournalLine.account, JournalEntry.currency,
               func.sum(case((before, JournalLine.debit - JournalLine.credit), else_=0)),
               func.sum(case((before, 0), else_=JournalLine.debit)),
               func.sum(case((before, 0), else_=JournalLine.credit)))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.posted_on <= date_to)
        .group_by(JournalLine.account, JournalEntry.currency)
        .order_by(JournalEntry.currency, JournalLine.account)).all()
    balances: dict[str, TrialBalance] = {}
    for account, currency, opening, debit, credit in rows:
        balances.setdefault(currency, TrialBalance(currency)).accounts.append(
            AccountBalance(account, currency, Decimal(opening), Decimal(debit),
                           Decimal(credit)))
    return list(balances.values())
