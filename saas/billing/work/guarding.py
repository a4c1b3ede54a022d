"""Guarding (R5.6): sites under guard, hours per site and day, periods captured for billing.

The rules of a period's charge are in ``guarding_rules.py``. Capturing a month makes (or,
captured again after corrections, updates) the site's billable item for it: event
``guarding_period``, source ``guarding`` with the id of the site's period row (unique per
site and start), so a month is never billed twice. An hourly site without a rate of its
own takes the fixed price of its product on a contract covering the site
(``contract_rate``), and the item names that contract; without one, the pricing engine
prices it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from saas.billing.catalog.models import Product
from saas.billing.contracts import services as contracts
from saas.billing.contracts.models import Contract, ContractSite
from saas.billing.customers.models import Site
from saas.billing.work import items
from saas.billing.work.guarding_rules import (
    GuardingCharge,
    GuardingMode,
    check_hours,
    month_days,
    period_charge,
)
from saas.billing.work.models import BillableItem, ItemStatus
from saas.billing.work.source_common import SourceError
from saas.billing.work.source_models import GuardedSite, GuardingHours, GuardingPeriod
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.models import utcnow

SOURCE_TYPE = "guarding"
EVENT = "guarding_period"


def set_up_site(values: dict[str, Any], guarded: GuardedSite | None = None) -> GuardedSite:
    """Put a customer's site under guard, or change how it is billed."""
    site = db.session.get(Site, values.get("site_id")) if values.get("site_id") else None
    if site is None:
        raise SourceError("Choose one of your customers' sites.", "site_id")
    product = (
        db.session.get(Product, values.get("product_id")) if values.get("product_id") else None
    )
    if product is None:
        raise SourceError("Choose the product the guarding is billed as.", "product_id")
    mode = GuardingMode(values.get("mode") or GuardingMode.HOURLY)
    rate, lump_sum = values.get("hourly_rate"), values.get("lump_sum")
    if mode is GuardingMode.LUMP_SUM and lump_sum is None:
        raise SourceError("Give the agreed lump sum a period.", "lump_sum")
    for value, field in ((rate, "hourly_rate"), (lump_sum, "lump_sum")):
        if value is not None and value < 0:
            raise SourceError("An amount cannot be negative.", field)
    existing = db.session.scalar(select(GuardedSite).where(GuardedSite.site_id == site.id))
    if existing is not None and existing is not guarded:
        raise SourceError(f"{site.code} {site.name} is under guard already.", "site_id")
    if guarded is None:
        guarded = GuardedSite(site_id=site.id)
        db.session.add(guarded)
    guarded.site_id, guarded.product_id, guarded.mode = site.id, product.id, mode
    guarded.hourly_rate, guarded.lump_sum = rate, lump_sum
    db.session.flush()
    audit.record("work.guarded_site", guarded, f"Guarding of {site.code} {site.name}: {mode.label}")
    return guarded


def hours_of_month(guarded: GuardedSite, year: int, month: int) -> dict[date, Decimal]:
    """The hours registered on each day of a month (days without hours are absent)."""
    days = month_days(year, month)
    rows = db.session.scalars(
        select(GuardingHours).where(
            GuardingHours.guarded_site_id == guarded.id,
            GuardingHours.worked_on >= days[0],
            GuardingHours.worked_on <= days[-1],
        )
    )
    return {row.worked_on: row.hours for row in rows}


def register_hours(
    guarded: GuardedSite, day: date, hours: Decimal, *, user_id: int | None = None
) -> Decimal:
    """Set the hours guarded on a day (0 clears it); refused once the month is invoiced."""
    try:
        hours = check_hours(hours)
    except ValueError as exc:
        raise SourceError(str(exc), "hours") from None
    period = _period_row(guarded, day.replace(day=1))
    if period is not None and _invoiced(period):
        raise SourceError(f"{day:%B %Y} is invoiced for this site: its hours are final.", "hours")
    row = db.session.scalar(
        select(GuardingHours).where(
            GuardingHours.guarded_site_id == guarded.id, GuardingHours.worked_on == day
        )
    )
    if hours == 0:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(
            GuardingHours(
                guarded_site_id=guarded.id, worked_on=day, hours=hours, updated_by_id=user_id
            )
        )
    else:
        row.hours, row.updated_at, row.updated_by_id = hours, utcnow(), user_id
    db.session.flush()
    return hours


def _period_row(guarded: GuardedSite, start: date) -> GuardingPeriod | None:
    return db.session.scalar(
        select(GuardingPeriod).where(
            GuardingPeriod.guarded_site_id == guarded.id, GuardingPeriod.period_start == start
        )
    )


def _items_of(period: GuardingPeriod) -> list[BillableItem]:
    return list(
        db.session.scalars(
            select(BillableItem).where(
                BillableItem.source_type == SOURCE_TYPE, BillableItem.source_id == period.id
            )
        )
    )


def _invoiced(period: GuardingPeriod) -> bool:
    return any(item.status == ItemStatus.INVOICED for item in _items_of(period))


@dataclass(frozen=True)
class MonthCharge:
    start: date
    end: date  # inclusive
    charge: GuardingCharge | None
    period: GuardingPeriod | None  # captured before
    items: tuple[BillableItem, ...]
    contract: Contract | None = None  # whose line gave the hourly rate


def contract_rate(guarded: GuardedSite, on: date) -> tuple[Contract, Decimal] | None:
    """The hourly rate a contract covering the site agrees for its product on a day.

    A contract in force on the day that covers the site, with a line of the site's product
    at a fixed price (for this site or for none in particular); the oldest contract wins.
    """
    covering = db.session.scalars(
        select(Contract)
        .join(ContractSite, ContractSite.contract_id == Contract.id)
        .where(ContractSite.site_id == guarded.site_id, Contract.start_date <= on)
        .order_by(Contract.start_date, Contract.id)
    )
    for contract in covering:
        if contract.last_day is not None and contract.last_day < on:
            continue
        for line in contracts.version_at(contract, on):
            if (
                line.product_id == guarded.product_id
                and line.unit_price is not None
                and line.site_id in (None, guarded.site_id)
            ):
                return contract, line.unit_price
    return None


def month_charge(guarded: GuardedSite, year: int, month: int) -> MonthCharge:
    """What the month would bill, and what was captured of it."""
    days = month_days(year, month)
    hours = hours_of_month(guarded, year, month)
    rate, contract = guarded.hourly_rate, None
    if guarded.mode is GuardingMode.HOURLY and rate is None:
        agreed = contract_rate(guarded, days[-1])
        if agreed is not None:
            contract, rate = agreed
    try:
        charge = period_charge(
            guarded.mode,
            hours.values(),
            period_label=f"{days[0]:%Y-%m}",
            hourly_rate=rate,
            lump_sum=guarded.lump_sum,
        )
    except ValueError as exc:
        raise SourceError(str(exc), "lump_sum") from None
    period = _period_row(guarded, days[0])
    return MonthCharge(
        days[0], days[-1], charge, period, tuple(_items_of(period)) if period else (), contract
    )


def capture_month(
    guarded: GuardedSite, year: int, month: int, *, user_id: int | None = None
) -> list[BillableItem]:
    """Capture a site's month as its billable item (again: updated to the hours now)."""
    planned = month_charge(guarded, year, month)
    if planned.charge is None:
        raise SourceError(f"No hours are registered on this site in {planned.start:%B %Y}.")
    period = planned.period
    if period is None:
        period = GuardingPeriod(
            guarded_site_id=guarded.id, period_start=planned.start, period_end=planned.end
        )
        db.session.add(period)
    elif _invoiced(period):
        raise SourceError(f"{planned.start:%B %Y} is invoiced for this site already.")
    period.hours, period.captured_at = planned.charge.hours, utcnow()
    db.session.flush()
    site = guarded.site
    captured = items.capture(
        event=EVENT,
        customer=site.customer,
        source_type=SOURCE_TYPE,
        source_id=period.id,
        occurred_on=planned.end,
        quantity=planned.charge.quantity,
        site=site,
        product=guarded.product,
        unit_price=planned.charge.unit_price,
        contract=planned.contract,
        description=f"{planned.charge.description} — {site.code} {site.name}",
    )
    audit.record(
        "work.guarding_captured",
        guarded,
        f"Guarding {site.code} {planned.start:%Y-%m}: {planned.charge.hours} h",
        user_id=user_id,
    )
    return captured


def month_of(day: date) -> tuple[int, int]:
    return day.year, day.month


def previous_month(year: int, month: int) -> tuple[int, int]:
    first = date(year, month, 1) - timedelta(days=1)
    return first.year, first.month


def next_month(year: int, month: int) -> tuple[int, int]:
    last = date(year, month, 1) + timedelta(days=31)
    return last.year, last.month
