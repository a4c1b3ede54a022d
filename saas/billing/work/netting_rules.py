"""Netting between partner agencies (R5.10): who owes whom, and how much (pure).

Two agencies that do work for each other list, for a period and a currency, the services
each *gave* the other (our billable items to the partner) and *received* from it (our
payable items owed to it). Each line's net is rounded once to the currency's minor unit,
half up, then summed per side. Only the difference changes hands:

- given > received: we invoice the partner the difference;
- received > given: we owe the partner the difference (a payable);
- equal: both sides are settled and nothing changes hands.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from saas.billing.money import as_decimal, exact_product, quantize_money

ZERO = Decimal(0)


class Side(enum.StrEnum):
    GIVEN = "given"
    RECEIVED = "received"


class Outcome(enum.StrEnum):
    INVOICE = "invoice"  # the partner pays us the difference
    PAYABLE = "payable"  # we pay the partner the difference
    EVEN = "even"

    @property
    def label(self) -> str:
        return {
            "invoice": "We invoice the difference",
            "payable": "We owe the difference",
            "even": "Even: nothing changes hands",
        }[self.value]


@dataclass(frozen=True)
class SpecLine:
    """One service on the statement."""

    side: Side
    occurred_on: date
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal


@dataclass(frozen=True)
class Netting:
    currency: str
    given: Decimal
    received: Decimal
    difference: Decimal  # always 0 or more; the outcome says who owes it
    outcome: Outcome


def line_net(line: SpecLine, currency: str) -> Decimal:
    """quantity × unit price, rounded half up to the currency's minor unit."""
    return quantize_money(exact_product(line.quantity, line.unit_price), currency)


def net(lines: Sequence[SpecLine], currency: str) -> Netting:
    """Sum each side and say who owes the difference."""
    given = sum((line_net(line, currency) for line in lines if line.side is Side.GIVEN), ZERO)
    received = sum((line_net(line, currency) for line in lines if line.side is Side.RECEIVED), ZERO)
    for total, name in ((given, "services given"), (received, "services received")):
        if as_decimal(total, name) < 0:
            raise ValueError(f"The {name} add up to less than zero.")
    if given > received:
        return Netting(currency, given, received, given - received, Outcome.INVOICE)
    if received > given:
        return Netting(currency, given, received, received - given, Outcome.PAYABLE)
    return Netting(currency, given, received, ZERO, Outcome.EVEN)
