"""Guarding (R5.6): the rules for hours on a site and the charge of a period (pure).

A guarded site has hours registered per day. A period (a calendar month on the pages) is
billed in one of two ways, set per site:

- **hourly**: the period's hours (the sum of its days) at the site's hourly rate; without
  a rate of its own, the price the pricing engine gives the site's product (customer price,
  price list, base price) — the charge then carries no unit price.
- **lump sum**: the site's agreed amount, once per period in which any hour was registered
  (a month nobody guarded is not billed); the hours are still shown as the specification.

A day holds 0 to 24 hours in steps of a quarter hour; 0 clears the day.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from saas.billing.money import as_decimal

ZERO = Decimal(0)
QUARTER = Decimal("0.25")
MAX_HOURS_A_DAY = Decimal(24)


class GuardingMode(enum.StrEnum):
    HOURLY = "hourly"
    LUMP_SUM = "lump_sum"

    @property
    def label(self) -> str:
        return {"hourly": "By the hour", "lump_sum": "Lump sum"}[self.value]


@dataclass(frozen=True)
class GuardingCharge:
    """What a period of a site is billed: a quantity of the site's product at a price.

    ``unit_price`` None: the pricing engine prices the product (hourly without a rate).
    """

    quantity: Decimal
    unit_price: Decimal | None
    hours: Decimal  # the hours registered in the period (the specification)
    description: str


def parse_hours(text: str | None) -> Decimal:
    """The hours typed into a day's cell: blank is 0; a comma may be the decimal mark."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        return ZERO
    try:
        hours = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number of hours.") from None
    return check_hours(hours)


def check_hours(hours: Decimal) -> Decimal:
    """A day's hours, or a ValueError that says what is wrong."""
    hours = as_decimal(hours, "hours")
    if hours < 0:
        raise ValueError("Hours cannot be negative.")
    if hours > MAX_HOURS_A_DAY:
        raise ValueError("A day has at most 24 hours.")
    if hours % QUARTER:
        raise ValueError("Enter hours in quarters of an hour (e.g. 7.75).")
    return hours.quantize(Decimal("0.01"))


def month_days(year: int, month: int) -> list[date]:
    """Every day of a month, in order (the grid's columns)."""
    return [date(year, month, day) for day in range(1, calendar.monthrange(year, month)[1] + 1)]


def period_charge(
    mode: GuardingMode,
    hours: Iterable[Decimal],
    *,
    period_label: str,
    hourly_rate: Decimal | None = None,
    lump_sum: Decimal | None = None,
) -> GuardingCharge | None:
    """The charge for a site's period from its days' hours; None when nothing is billed."""
    total = sum((check_hours(h) for h in hours), ZERO)
    if total == 0:
        return None
    if mode is GuardingMode.LUMP_SUM:
        if lump_sum is None or lump_sum < 0:
            raise ValueError("A lump-sum site needs its agreed amount.")
        return GuardingCharge(
            Decimal(1),
            as_decimal(lump_sum, "lump sum"),
            total,
            f"Guarding {period_label}, lump sum ({total} h)",
        )
    if hourly_rate is not None and hourly_rate < 0:
        raise ValueError("An hourly rate cannot be negative.")
    return GuardingCharge(total, hourly_rate, total, f"Guarding {period_label}, {total} h")
