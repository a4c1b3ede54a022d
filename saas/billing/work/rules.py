"""The arithmetic of billing rules and the stopwatch (pure: no Flask, no database).

- An item's quantity by the rule's mode: ``hours`` takes the source's hours and rounds
  them by the product's rule (every started increment billed, never below the minimum;
  ``catalog.pricing.billable_quantity``); ``fixed`` takes the rule's fixed quantity
  whatever happened; ``entered`` takes the amount entered on the source as it is.
- Which rules apply: the enabled ones of the event whose activity is the source's, or
  that name no activity (they apply to every activity).
- Time: minutes are kept whole; hours are minutes / 60 to 4 decimals, half up. The
  stopwatch's seconds become minutes rounded half up, at least one minute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from saas.billing.catalog.pricing import billable_quantity

HOURS, FIXED, ENTERED = "hours", "fixed", "entered"
MODES = (HOURS, FIXED, ENTERED)
FOUR_PLACES = Decimal("0.0001")


class RuleLike(Protocol):
    event: str
    activity_id: int | None
    is_enabled: bool


@dataclass(frozen=True)
class Rounding:
    """A product's rounding rule: bill started increments, and at least a minimum."""

    increment: Decimal | None = None
    minimum: Decimal | None = None


def rule_quantity(
    mode: str,
    source_quantity: Decimal | None,
    fixed_quantity: Decimal | None = None,
    rounding: Rounding = Rounding(),
) -> Decimal:
    """The quantity a rule bills for a source's quantity (hours or an entered amount)."""
    if mode == FIXED:
        if fixed_quantity is None or fixed_quantity <= 0:
            raise ValueError("A rule with a fixed quantity needs a quantity above 0.")
        return fixed_quantity
    if mode not in MODES:
        raise ValueError(f"Unknown quantity mode {mode!r}: choose one of {', '.join(MODES)}.")
    if source_quantity is None:
        raise ValueError("This rule bills the source's quantity, and none was given.")
    if isinstance(source_quantity, float) or not isinstance(source_quantity, Decimal | int):
        raise ValueError(f"The quantity must be a decimal number, not {source_quantity!r}.")
    if source_quantity < 0:
        raise ValueError("A quantity cannot be negative.")
    if mode == ENTERED:
        return Decimal(source_quantity)
    return billable_quantity(Decimal(source_quantity), rounding.increment, rounding.minimum)


def matching(rules: Iterable[RuleLike], event: str, activity_id: int | None) -> list:
    """The enabled rules of the event that apply to the activity (or to any)."""
    return [
        rule
        for rule in rules
        if rule.is_enabled
        and rule.event == event
        and (rule.activity_id is None or rule.activity_id == activity_id)
    ]


def hours_of(minutes: int) -> Decimal:
    """Minutes as hours, to 4 decimals, half up (20 min → 0.3333 h)."""
    return (Decimal(minutes) / 60).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def minutes_of(seconds: int) -> int:
    """The stopwatch's seconds as whole minutes, half up, at least one."""
    if seconds < 0:
        raise ValueError("A stopwatch cannot measure a negative time.")
    return max(1, (seconds + 30) // 60)


def format_minutes(minutes: int) -> str:
    """ "1:05" for 65 minutes."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def parse_duration(text: str) -> int:
    """Minutes from what a person types: "1:30", "1.5", "1,5", "1.5h", "90m" or "2h 15m"."""
    value = (text or "").strip().lower().replace(" ", "")
    if not value:
        raise ValueError("Enter the time worked, e.g. 1:30 or 1.5.")
    try:
        if ":" in value:
            hours, _, minutes = value.partition(":")
            if not (hours.isdigit() or hours == "") or not (
                minutes.isdigit() and len(minutes) == 2 and int(minutes) < 60
            ):
                raise ValueError
            total = int(hours or 0) * 60 + int(minutes)
        elif "h" in value and value.endswith("m"):
            hours, _, minutes = value[:-1].partition("h")
            total = int(hours) * 60 + int(minutes)
        elif value.endswith("m"):
            total = int(value[:-1])
        else:
            hours = Decimal(value.removesuffix("h").replace(",", "."))
            if not hours.is_finite():
                raise ValueError
            total = int((hours * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (ValueError, ArithmeticError):
        raise ValueError(f"{text.strip()!r} is not a time: write e.g. 1:30, 1.5 or 90m.") from None
    if total <= 0:
        raise ValueError("Enter a time above 0.")
    return total
