"""Project profitability (R5.11): cost of time, gross margin, time per member (pure).

- Revenue is what was invoiced for the project plus what is still to invoice (its open
  billable items), both net of VAT in the project's currency.
- The cost of time is each member's minutes / 60 at the member's internal cost rate,
  exact, rounded once per member to the currency's minor unit, half up (a member without
  a rate costs 0 and is named in ``members_without_rate``).
- Cost is the cost of time plus the project's payables (outsourced services).
- Gross margin = revenue − cost; its percentage of revenue to one decimal, half up (none
  without revenue).
- Time is split per member into billable, internal and bug-fix hours (minutes / 60, shown
  to two decimals, half up).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from saas.billing.money import quantize_money, round_half_up

ZERO = Decimal(0)


class WorkKind(enum.StrEnum):
    BILLABLE = "billable"
    INTERNAL = "internal"
    BUG_FIX = "bug_fix"


@dataclass(frozen=True)
class TimeRow:
    member: str
    kind: WorkKind
    minutes: int


def hours_of(minutes: int) -> Decimal:
    """Minutes as hours to two decimals, half up (20 min → 0.33 h)."""
    return round_half_up(Fraction(minutes, 60), 2)


@dataclass(frozen=True)
class MemberTime:
    member: str
    billable_minutes: int = 0
    internal_minutes: int = 0
    bug_fix_minutes: int = 0
    cost: Decimal = ZERO

    @property
    def minutes(self) -> int:
        return self.billable_minutes + self.internal_minutes + self.bug_fix_minutes

    @property
    def billable(self) -> Decimal:
        return hours_of(self.billable_minutes)

    @property
    def internal(self) -> Decimal:
        return hours_of(self.internal_minutes)

    @property
    def bug_fix(self) -> Decimal:
        return hours_of(self.bug_fix_minutes)

    @property
    def total(self) -> Decimal:
        return hours_of(self.minutes)


@dataclass(frozen=True)
class Margin:
    currency: str
    revenue_invoiced: Decimal
    revenue_to_invoice: Decimal
    cost_of_time: Decimal
    cost_of_payables: Decimal
    members: tuple[MemberTime, ...] = ()
    members_without_rate: tuple[str, ...] = field(default=())

    @property
    def revenue(self) -> Decimal:
        return self.revenue_invoiced + self.revenue_to_invoice

    @property
    def cost(self) -> Decimal:
        return self.cost_of_time + self.cost_of_payables

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        if self.revenue <= 0:
            return None
        return round_half_up(self.margin * 100 / self.revenue, 1)


def time_per_member(
    rows: Iterable[TimeRow], rates: Mapping[str, Decimal], currency: str
) -> tuple[list[MemberTime], list[str]]:
    """Hours per member and kind, and each member's cost; members without a rate."""
    minutes: dict[str, dict[WorkKind, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row.minutes < 0:
            raise ValueError(f"{row.member}: time cannot be negative.")
        minutes[row.member][WorkKind(row.kind)] += row.minutes
    members, without_rate = [], []
    for name in sorted(minutes):
        by_kind = minutes[name]
        total = sum(by_kind.values())
        rate = rates.get(name)
        if rate is None:
            without_rate.append(name)
        cost = quantize_money(Fraction(total, 60) * Fraction(rate or 0), currency)
        members.append(
            MemberTime(
                name,
                by_kind[WorkKind.BILLABLE],
                by_kind[WorkKind.INTERNAL],
                by_kind[WorkKind.BUG_FIX],
                cost,
            )
        )
    return members, without_rate


def project_margin(
    *,
    currency: str,
    revenue_invoiced: Decimal,
    revenue_to_invoice: Decimal,
    time_rows: Iterable[TimeRow],
    rates: Mapping[str, Decimal],
    payables: Iterable[Decimal],
) -> Margin:
    """The project's revenue, costs and gross margin (see the module docstring)."""
    members, without_rate = time_per_member(time_rows, rates, currency)
    return Margin(
        currency=currency,
        revenue_invoiced=quantize_money(revenue_invoiced, currency),
        revenue_to_invoice=quantize_money(revenue_to_invoice, currency),
        cost_of_time=sum((m.cost for m in members), ZERO),
        cost_of_payables=sum((quantize_money(p, currency) for p in payables), ZERO),
        members=tuple(members),
        members_without_rate=tuple(without_rate),
    )
