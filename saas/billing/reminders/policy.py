"""What a reminder charges, and the policy a tenant starts from (pure: no database).

Fees and interest are worked out in the invoice's currency with exact arithmetic and
rounded half-up to the currency's minor unit. A fixed fee and a cap are set in the
tenant's own currency and converted at the invoice's recorded rate (1 unit of the
invoice currency = ``exchange_rate`` units of the tenant's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from saas.billing.money import quantize_money
from saas.billing.reminders.models import FeeKind, Tone

DAYS_IN_YEAR = 365


def fee(kind: FeeKind, open_amount: Decimal, currency: str, *, amount: Decimal,
        percent: Decimal, cap: Decimal | None, exchange_rate: Decimal) -> Decimal:
    """The level's fee for an open amount: nothing, a fixed amount, or a percentage up to a cap."""
    rate = Fraction(exchange_rate) if exchange_rate else Fraction(1)
    if kind == FeeKind.FIXED:
        return quantize_money(Fraction(amount) / rate, currency)
    if kind == FeeKind.PERCENT:
        value = Fraction(open_amount) * Fraction(percent) / 100
        if cap is not None:
            value = min(value, Fraction(cap) / rate)
        return quantize_money(max(value, Fraction(0)), currency)
    return quantize_money(0, currency)


def interest(open_amount: Decimal, currency: str, annual_rate: Decimal, days: int) -> Decimal:
    """Simple interest on the open amount for a number of days (actual/365)."""
    if days <= 0 or annual_rate <= 0 or open_amount <= 0:
        return quantize_money(0, currency)
    value = Fraction(open_amount) * Fraction(annual_rate) / 100 * days / DAYS_IN_YEAR
    return quantize_money(value, currency)


def interest_days(due_date: date | None, today: date, already_charged: int) -> int:
    """Days overdue not yet charged by an earlier reminder of the same invoice."""
    if due_date is None:
        return 0
    return max((today - due_date).days - already_charged, 0)


@dataclass(frozen=True)
class LevelDefaults:
    name: str
    days_after_due: int
    tone: Tone
    fee_kind: FeeKind = FeeKind.NONE
    fee_amount: Decimal = Decimal(0)
    charge_interest: bool = False
    attach_letter: bool = True


# A policy a mature product would suggest: a courtesy note, a reminder, a formal demand.
SUGGESTED_LEVELS = (
    LevelDefaults("Friendly note", -3, Tone.FRIENDLY, attach_letter=False),
    LevelDefaults("First reminder", 7, Tone.REMINDER),
    LevelDefaults("Payment demand", 21, Tone.DEMAND, FeeKind.FIXED, Decimal("40.00"),
                  charge_interest=True),
)
