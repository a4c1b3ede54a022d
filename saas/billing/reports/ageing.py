"""Accounts-receivable ageing (R9.2): open invoices by days past due (pure).

Each open invoice falls in one bucket by how many days past its due date it is on the
day the report is made: current (not yet due, or due that day), 1–30, 31–60, 61–90 and
over 90 days. Per customer the buckets are summed; what the customer has to their credit
(payments not allocated, credit notes not applied) is shown beside them, and the balance
is what is open less that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal(0)
# (key, label, first day past due, last day past due)
BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("current", "Current", None, 0),
    ("1-30", "1–30 days", 1, 30),
    ("31-60", "31–60 days", 31, 60),
    ("61-90", "61–90 days", 61, 90),
    ("over-90", "Over 90 days", 91, None),
)


def bucket_of(days_past_due: int) -> int:
    """The index of the bucket for an invoice so many days past due (0 or less: current)."""
    for index, (_, _, _, last) in enumerate(BUCKETS):
        if last is None or days_past_due <= last:
            return index
    raise AssertionError("the last bucket has no end")


def days_past_due(due_date: date | None, on: date) -> int:
    """Days from the due date to the day (an invoice without one is due at once: 0)."""
    return (on - due_date).days if due_date is not None else 0


@dataclass(frozen=True)
class Customer:
    id: int
    number: int | str
    name: str


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice with something open on the report's day."""

    customer: Customer
    document_id: int
    number: str
    due_date: date | None
    open_amount: Decimal


@dataclass
class AgeingRow:
    customer: Customer | None  # None: the totals
    buckets: list[Decimal] = field(default_factory=lambda: [ZERO] * len(BUCKETS))
    credit: Decimal = ZERO
    invoices: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, ZERO)

    @property
    def overdue(self) -> Decimal:
        return sum(self.buckets[1:], ZERO)

    @property
    def balance(self) -> Decimal:
        return self.total - self.credit


@dataclass(frozen=True)
class Ageing:
    on: date
    currency: str
    rows: tuple[AgeingRow, ...]  # the customers, most owed first
    totals: AgeingRow


def age(invoices: Iterable[OpenInvoice], credits: Mapping[Customer, Decimal],
        on: date, currency: str) -> Ageing:
    """Sum the open invoices per customer and bucket, with each customer's credit."""
    rows: dict[Customer, AgeingRow] = {}
    totals = AgeingRow(None)
    for invoice in invoices:
        if invoice.open_amount <= 0:
            continue
        row = rows.setdefault(invoice.customer, AgeingRow(invoice.customer))
        index = bucket_of(days_past_due(invoice.due_date, on))
        for each in (row, totals):
            each.buckets[index] += invoice.open_amount
            each.invoices += 1
    for customer, credit in credits.items():
        if credit:
            rows.setdefault(customer, AgeingRow(customer)).credit += credit
            totals.credit += credit
    ordered = sorted(rows.values(), key=lambda r: (-r.total, -r.credit, r.customer.name))
    return Ageing(on, currency, tuple(ordered), totals)
