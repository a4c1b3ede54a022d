"""The claim a legal document states (pure): principal, interest to date, fees.

Interest to date is simple interest on each invoice's open amount from the day after its
due date up to the claim's date, actual/365, at the reminder policy's statutory rate (the
same ``reminders.policy.interest`` the reminders charge). It replaces the interest the
reminders charged for earlier days, so that is not counted again; the reminders' fees are
fees of the claim, beside the fees of the legal stages entered so far. Each amount is
rounded half up to the currency's minor unit once, per invoice, then summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from saas.billing.money import quantize_money
from saas.billing.reminders.policy import interest

ZERO = Decimal(0)


@dataclass(frozen=True)
class ClaimItem:
    number: str
    due_date: date | None
    principal: Decimal  # open on the invoice
    days: int  # overdue up to the claim's date
    interest: Decimal


@dataclass(frozen=True)
class Fee:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class Claim:
    currency: str
    on: date
    rate: Decimal  # annual, percent
    items: tuple[ClaimItem, ...]
    fees: tuple[Fee, ...]

    @property
    def principal(self) -> Decimal:
        return sum((item.principal for item in self.items), ZERO)

    @property
    def interest(self) -> Decimal:
        return sum((item.interest for item in self.items), ZERO)

    @property
    def fee_total(self) -> Decimal:
        return sum((fee.amount for fee in self.fees), ZERO)

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee_total


def days_overdue(due_date: date | None, on: date) -> int:
    return max((on - due_date).days, 0) if due_date is not None else 0


def interest_to_date(
    principal: Decimal, currency: str, rate: Decimal, due_date: date | None, on: date
) -> Decimal:
    """Interest on an open amount from its due date to the day (actual/365, half up)."""
    return interest(principal, currency, rate, days_overdue(due_date, on))


def in_currency(amount: Decimal, currency: str, exchange_rate: Decimal) -> Decimal:
    """An amount of the tenant's currency in a document currency (1 unit of it =
    ``exchange_rate`` units of the tenant's), half up."""
    rate = Fraction(exchange_rate) if exchange_rate else Fraction(1)
    return quantize_money(Fraction(amount) / rate, currency)


def build_claim(
    currency: str,
    on: date,
    rate: Decimal,
    invoices: Sequence[tuple[str, date | None, Decimal]],
    fees: Sequence[Fee],
) -> Claim:
    """The claim for invoices given as (number, due date, open amount), with fees."""
    items = tuple(
        ClaimItem(
            number,
            due,
            quantize_money(open_amount, currency),
            days_overdue(due, on),
            interest_to_date(open_amount, currency, rate, due, on),
        )
        for number, due, open_amount in invoices
        if open_amount > 0
    )
    return Claim(currency, on, rate, items, tuple(fee for fee in fees if fee.amount > 0))
