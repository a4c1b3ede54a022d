"""A customer's account statement (R1.3, R3.12): what they were charged and what they paid,
in date order, with the balance running.

It is read from the journal: every entry's effect on the customer's receivables (1500)
and credit (2900) accounts together. An invoice raises the balance, a credit note and a
payment lower it, a refund raises it; allocating a payment or applying a credit note moves
an amount between the two and leaves the balance as it is, so it is not a line. The
closing balance is therefore what ``issuing.customer_balance`` says the customer owes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.payments.ledger import CUSTOMER_CREDIT, RECEIVABLES
from saas.billing.payments.models import JournalEntry, JournalLine, Payment, PaymentKind
from saas.extensions import db

ZERO = Decimal(0)
ACCOUNTS = (RECEIVABLES, CUSTOMER_CREDIT)


@dataclass(frozen=True)
class StatementLine:
    """One movement of the customer's balance."""

    posted_on: date
    entry_id: int
    text: str  # "Invoice INV-2026-00012", "Payment (Bank) ref. 4711" ...
    charge: Decimal  # what raised the balance (an invoice, a refund, a payment undone)
    payment: Decimal  # what lowered it (a payment, a credit note)
    balance: Decimal  # after this line
    document_id: int | None = None
    payment_id: int | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class Statement:
    customer: Customer
    currency: str
    date_from: date
    date_to: date
    opening: Decimal
    lines: tuple[StatementLine, ...]

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening

    @property
    def charges(self) -> Decimal:
        return sum((line.charge for line in self.lines), ZERO)

    @property
    def payments(self) -> Decimal:
        return sum((line.payment for line in self.lines), ZERO)


def running(opening: Decimal, movements: list[Decimal]) -> list[Decimal]:
    """Pure: the balance after each movement (positive raises it), from the opening one."""
    balances, balance = [], opening
    for movement in movements:
        balance += movement
        balances.append(balance)
    return balances


def _effect():
    """Per journal entry, its net effect on one customer's balance (debits raise it)."""
    return func.sum(JournalLine.debit - JournalLine.credit)


def _text(kind: str, document: Document | None, payment: Payment | None,
          description: str) -> str:
    if document is not None and document.number:
        text = document.title
        return f"Reversal of {text}" if kind == "reversal" else text
    if payment is not None:
        what = "Payment" if payment.kind == PaymentKind.RECEIVED else "Refund"
        text = f"{what} ({payment.method.label})"
        if payment.reference:
            text += f", ref. {payment.reference}"
        return f"{text} reversed" if kind == "reversal" else text
    return description


def account_statement(customer: Customer, currency: str, date_from: date,
                      date_to: date) -> Statement:
    """The customer's statement in one currency for the days from … to (inclusive)."""
    base = (select(JournalEntry.id)
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(JournalLine.customer_id == customer.id,
                   JournalLine.account.in_(ACCOUNTS), JournalEntry.currency == currency))
    opening = db.session.scalar(
        select(func.coalesce(func.sum(JournalLine.debit - JournalLine.credit), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.customer_id == customer.id, JournalLine.account.in_(ACCOUNTS),
               JournalEntry.currency == currency, JournalEntry.posted_on < date_from))
    movements = (base.add_columns(_effect().label("effect"))
                 .where(JournalEntry.posted_on >= date_from,
                        JournalEntry.posted_on <= date_to)
                 .group_by(JournalEntry.id)
                 .having(_effect() != 0)
                 .subquery())
    document, payment = aliased(Document), aliased(Payment)
    rows = db.session.execute(
        select(JournalEntry, movements.c.effect, document, payment)
        .join(movements, movements.c.id == JournalEntry.id)
        .outerjoin(document, document.id == JournalEntry.document_id)
        .outerjoin(payment, payment.id == JournalEntry.payment_id)
        .order_by(JournalEntry.posted_on, JournalEntry.id)).all()
    balances = running(Decimal(opening), [Decimal(row.effect) for row in rows])
    lines = tuple(
        StatementLine(
            posted_on=entry.posted_on, entry_id=entry.id,
            text=_text(entry.kind, doc, paid, entry.description),
            charge=effect if effect > 0 else ZERO, payment=-effect if effect < 0 else ZERO,
            balance=balance, document_id=entry.document_id, payment_id=entry.payment_id,
            due_date=doc.due_date if doc is not None and entry.kind == "invoice" else None)
        for (entry, effect, doc, paid), balance in zip(rows, balances, strict=True))
    return Statement(customer, currency, date_from, date_to, Decimal(opening), lines)


def statement_currencies(customer: Customer) -> list[str]:
    """The currencies the customer has a balance or movements in; theirs first."""
    found = set(db.session.scalars(
        select(JournalEntry.currency).join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.customer_id == customer.id).distinct()))
    return [customer.currency, *sorted(found - {customer.currency})]
