"""Prepaid volumes (R4.6): the arithmetic of a flat fee that includes a volume (pure).

A contract line can be a flat fee that includes a volume each billing period ("Support,
5,000 NOK a month, includes 10 hours"). Work recorded against the line uses the volume up;
what goes beyond it is the excess, billed at the price list's rate. This module holds the
rules as plain functions of Decimals, dates and line versions (no Flask, no database);
``volumes.py`` loads, records and bills with them.

- Status. For an included volume ``I`` and a use ``U`` in a period: left = max(I − U, 0),
  excess = max(U − I, 0), percent used = U / I × 100 (one decimal, half up; it can pass 100).
- Levels. Below 80 % of the volume: fine; from 80 % up to and including 100 %: almost used
  (a warning); beyond 100 %: exceeded. Exactly 100 % is not an excess: nothing is billed.
- Consumption. A use of ``q`` when ``B`` was used before takes min(q, max(I − B, 0)) from
  the volume; the rest of it is excess.
- Which terms. The volume of a period is that of the line version in force on the
  period's last day of service (the period's last day, or the contract's last day if it
  ends inside the period): an annex that changes the volume inside a period changes it for
  the whole period, as the period is one allowance. When the line was removed, or lost its
  volume, inside the period, the last version of the period that had a volume applies, so
  work recorded under it is never left without one.
- Partial periods keep the full volume. A contract that starts or ends inside a period
  gets the whole volume for it, not a prorated share: the volume is an allowance of work,
  not a price, and prorating it would turn "10 hours a month" into 4.839 hours for a
  15-day first month, which no customer agreed to. (The flat fee itself is prorated by the
  billing run, as any line.)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol, TypeVar

from saas.billing.contracts.proration import Period, segments
from saas.billing.money import as_decimal

# The share of the volume used at which staff are warned.
WARN_AT = Decimal("0.8")
ZERO = Decimal(0)


class VolumeLevel(enum.StrEnum):
    """How far a period's volume is used: under 80 %, 80–100 %, beyond 100 %."""

    OK = "ok"
    ALMOST_USED = "almost_used"
    EXCEEDED = "exceeded"


def level_of(included: Decimal, used: Decimal) -> VolumeLevel:
    """The level of a use of the included volume (see the module docstring)."""
    included, used = _positive(included, "included volume"), as_decimal(used, "used")
    if used > included:
        return VolumeLevel.EXCEEDED
    if used >= included * WARN_AT:
        return VolumeLevel.ALMOST_USED
    return VolumeLevel.OK


@dataclass(frozen=True)
class VolumeStatus:
    """A period's volume: included, used, left, the excess, and the percentage used."""

    included: Decimal
    used: Decimal
    left: Decimal
    excess: Decimal
    percent_used: Decimal  # one decimal; above 100 when exceeded

    @property
    def level(self) -> VolumeLevel:
        return level_of(self.included, self.used)

    @property
    def bar_percent(self) -> Decimal:
        """The used share to draw, 0 to 100 (a bar does not grow beyond full)."""
        return min(self.percent_used, Decimal(100))


def status_of(included: Decimal, used: Decimal) -> VolumeStatus:
    """The status of a volume ``included`` of which ``used`` is used (both exact)."""
    included, used = _positive(included, "included volume"), as_decimal(used, "used")
    if used < 0:
        raise ValueError(f"a use cannot be negative, not {used}")
    percent = (used * 100 / included).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return VolumeStatus(included=included, used=used, left=max(included - used, ZERO),
                        excess=max(used - included, ZERO), percent_used=percent)


def consume(included: Decimal, used_before: Decimal, quantity: Decimal,
            ) -> tuple[Decimal, Decimal]:
    """Split a use into (taken from the volume, excess), given what was used before it."""
    included = _positive(included, "included volume")
    used_before = as_decimal(used_before, "used before")
    quantity = _positive(quantity, "quantity")
    within = min(quantity, max(included - used_before, ZERO))
    return within, quantity - within


class LineTerms(Protocol):
    """What the rules read of a line version (a ``ContractLine`` is one)."""

    effective_from: date
    removed: bool
    included_quantity: Decimal | None


T = TypeVar("T", bound=LineTerms)


def terms_for_period(history: Sequence[T], period: Period, first_day: date,
                     last_day: date | None) -> T | None:
    """The line version whose volume applies to the period, or None (no volume in it).

    ``history`` is the line's versions in date order (the first being the original);
    ``first_day`` is the line's first day of service (the contract's start, or the day an
    annex added the line), ``last_day`` the contract's last day of service (None: open).
    """
    if not history:
        return None
    start = max(history[0].effective_from, first_day)
    if last_day is not None and last_day < start:
        return None
    parts = segments(period, start, last_day, [(line.effective_from, line) for line in history])
    with_volume = [part.value for part in parts
                   if not part.value.removed and part.value.included_quantity is not None]
    return with_volume[-1] if with_volume else None


def _positive(value: Decimal, name: str) -> Decimal:
    value = as_decimal(value, name)
    if value <= 0:
        raise ValueError(f"the {name} must be above 0, not {value}")
    return value
