"""Prepaid volumes (R4.6): work recorded against a flat fee's included volume, and its excess.

A contract line can be a flat fee that includes a volume each billing period ("Support,
flat fee 5,000 NOK a month, includes 10 hours"): ``ContractLine.included_quantity`` (and
``included_unit``). Work recorded against the line (``VolumeUsage``, by ``record_usage``;
the work-recording pages call it later, with ``source`` naming the timesheet) uses the
volume up; what goes beyond it is the excess, billed at the price-list price of the line's
``overage_product`` or, without one, of the line's own product. The arithmetic lives in
``prepaid.py`` (pure); in short:

- The volume belongs to a billing period: the contract's calendar-aligned period
  (``proration.period_containing``) containing the day the work was done. It is not
  carried over: what is left at the end of a period is lost, and each period starts at 0.
- A period's volume is that of the line version in force on the period's last day of
  service, so an annex changing the volume inside a period changes it for all of it (when
  the line was removed or lost its volume inside the period, the last version of the
  period that had one applies). A period the contract covers only in part (it starts or
  ends inside it) keeps the whole volume: it is an allowance of work, not a price.
- Work can be recorded only on a day of service (from the contract's start to its last
  day), against a line that is a flat fee with a volume on that day, in a quantity above 0.
- Staff are warned: when a period's use reaches 80 % of its volume, a to-do "volume almost
  used"; when it goes beyond 100 %, a to-do "volume exceeded". Each is filed once per
  contract line, period and threshold (a unique subject key on ``todos``), audited, and
  never again for that period, even once done. A use that jumps from below 80 % past 100 %
  files only the second. Recording locks the contract's row, so two uses recorded at once
  see each other's quantities and neither crossing is missed.
- Billing the excess. A billing run bills the excess in arrears: on a run date, the excess
  of the period before the current one (``overage_period``), whether the contract bills
  its fee in advance (the run bills the current period's fee and the previous period's
  excess on one invoice) or in arrears (the fee and the excess of the same, previous,
  period). ``overage_for`` gives, for many contracts at once and with one query of
  usages, each flat-fee line's excess in the given period as an ``OverageLine``, priced
  by the price list when billed (``unit_price`` None).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from saas.billing.catalog.models import Product
from saas.billing.catalog.services import plain_decimal
from saas.billing.contracts import services
from saas.billing.contracts.models import Contract, ContractLine, VolumeUsage
from saas.billing.contracts.prepaid import (
    VolumeLevel,
    VolumeStatus,
    consume,
    status_of,
    terms_for_period,
)
from saas.billing.contracts.proration import (
    BillingPeriod,
    Period,
    period_containing,
    period_to_bill,
)
from saas.billing.todos.models import Todo, TodoKind
from saas.extensions import db
from saas.tenants import audit, scoping
from saas.tenants.models import utcnow

__all__ = ["LineVolume", "OverageLine", "UsageResult", "VolumeStatus", "current_volumes",
           "customer_volumes", "flat_lines", "overage_for", "overage_period", "record_usage",
           "volume_status"]

ContractError = services.ContractError
Histories = dict[int, dict[int, list[ContractLine]]]

# The QUANTITY column: 4 decimals, under 10^10.
QUANTITY_LIMIT = Decimal("1e10")

TODO_KINDS = {VolumeLevel.ALMOST_USED: TodoKind.VOLUME_ALMOST_USED,
              VolumeLevel.EXCEEDED: TodoKind.VOLUME_EXCEEDED}


@dataclass(frozen=True)
class UsageResult:
    """A recorded use: what it took from the volume, its excess, the period's status after."""

    usage: VolumeUsage
    period: Period
    within: Decimal  # taken from the included volume
    excess: Decimal  # beyond it: billed
    status: VolumeStatus  # the period's, after this use
    unit: str  # the volume's ("hours")
    todos: tuple[Todo, ...] = ()  # the to-dos this use filed (none when already filed)


@dataclass(frozen=True)
class OverageLine:
    """A flat-fee line's excess in a period, for a billing run to invoice.

    ``unit_price`` None: the run prices ``product_id`` from the price list when it bills
    (the customer's price for that quantity on the billing date). ``period`` is the period
    whose excess this is (in arrears: the one before the period a run bills in advance).
    """

    line_key: int
    description: str  # "Support — hours beyond the 10 included"
    product_id: int
    quantity: Decimal
    unit: str
    unit_price: Decimal | None
    vat_rate_id: int
    site_id: int | None
    period: Period


@dataclass(frozen=True)
class LineVolume:
    """A flat-fee line's volume in one period, for the pages."""

    contract: Contract
    line: ContractLine  # the version whose volume applies to the period
    period: Period
    status: VolumeStatus
    usages: tuple[VolumeUsage, ...] = field(default=())  # when asked for, by day

    @property
    def unit(self) -> str:
        return self.line.included_unit


def overage_period(run_date: date, kind: BillingPeriod | str) -> Period:
    """The period whose excess a run on the date bills: the one before the current one."""
    return period_to_bill(run_date, kind, in_advance=False)


# --- recording ---------------------------------------------------------------------------


def record_usage(contract: Contract, line_key: int, used_on: date, quantity: Decimal,
                 description: str, *, source: str = "", user_id: int | None = None,
                 ) -> UsageResult:
    """Record work against a flat-fee line's volume on a day; warn staff as it runs out.

    Refused (``ContractError`` naming the field): a day outside the contract's service, a
    line that is not a flat fee with a volume on that day, a quantity not above 0.
    """
    if not isinstance(used_on, date):
        raise ContractError("Give the day the work was done.", "used_on")
    if quantity is None or isinstance(quantity, float | bool) or not isinstance(
            quantity, Decimal | int) or not Decimal(quantity).is_finite():
        raise ContractError("Give the quantity used, as a number.", "quantity")
    quantity = Decimal(quantity)
    if quantity <= 0:
        raise ContractError("Give a quantity above 0.", "quantity")
    if -quantity.normalize().as_tuple().exponent > 4 or quantity >= QUANTITY_LIMIT:
        raise ContractError("Give the quantity with at most 4 decimals and under"
                            " 10,000,000,000.", "quantity")
    source = (source or "").strip()
    if len(source) > 40:
        raise ContractError("Name the source in at most 40 characters.", "source")
    if used_on < contract.start_date:
        raise ContractError(f"Contract {contract.number} starts on {contract.start_date}:"
                            " record work from that day.", "used_on")
    if contract.last_day is not None and used_on > contract.last_day:
        raise ContractError(f"Contract {contract.number} ended on {contract.last_day}:"
                            " record work up to that day.", "used_on")
    # One use at a time per contract: each sees the others' quantities (PostgreSQL).
    db.session.execute(select(Contract.id).where(Contract.id == contract.id)
                       .with_for_update())
    history = services.versions(contract).get(line_key) if isinstance(line_key, int) else None
    if not history:
        raise ContractError(f"Contract {contract.number} has no line {line_key}.", "line_key")
    [line] = services.version_at(contract, used_on, {line_key: history}) or [None]
    if line is None:
        raise ContractError(f"Line {line_key} is not on contract {contract.number} on"
                            f" {used_on}.", "line_key")
    if line.included_quantity is None:
        raise ContractError(f"{line.description} is not a flat fee with an included volume"
                            f" on {used_on}: work is recorded against such lines only.",
                            "line_key")
    period = period_containing(used_on, contract.billing_period)
    terms = terms_for_period(history, period, contract.start_date, contract.last_day)
    if terms is None or terms.included_quantity is None:  # cannot be: the line has one
        raise ContractError(f"{line.description} has no included volume in"
                            f" {period.label()}.", "line_key")
    used_before = _used({contract.id: period}).get((contract.id, line_key), Decimal(0))
    usage = VolumeUsage(contract_id=contract.id, line_key=line_key, used_on=used_on,
                        quantity=quantity, description=(description or "").strip(),
                        source=source, created_by_id=user_id)
    db.session.add(usage)
    db.session.flush()
    within, excess = consume(terms.included_quantity, used_before, quantity)
    status = status_of(terms.included_quantity, used_before + quantity)
    todo = _file_todo(contract, terms, period, status, user_id)
    return UsageResult(usage, period, within, excess, status, terms.included_unit,
                       (todo,) if todo else ())


def _file_todo(contract: Contract, line: ContractLine, period: Period, status: VolumeStatus,
               user_id: int | None) -> Todo | None:
    """The to-do for the level the period's use has reached, unless it was filed already."""
    kind = TODO_KINDS.get(status.level)
    if kind is None:
        return None
    unit = f" {line.included_unit}" if line.included_unit else ""
    included = f"{plain_decimal(status.included)}{unit}"
    if kind is TodoKind.VOLUME_EXCEEDED:
        title = (f"{line.description}: the {included} included in {period.label()} are"
                 f" used up — {plain_decimal(status.excess)}{unit} beyond them are billed")
    else:
        title = (f"{line.description}: {plain_decimal(status.percent_used)} % of the"
                 f" {included} included in {period.label()} used")
    title = f"{title} ({contract.number}, {contract.customer.name})"
    table = Todo.__table__
    insert = (postgresql.insert(table) if db.session.get_bind().dialect.name == "postgresql"
              else sqlite.insert(table))
    statement = insert.values(
        tenant_id=scoping.require_tenant_id(), kind=kind.value, title=title[:300],
        details="", customer_id=contract.customer_id, contract_id=contract.id,
        subject_key=f"contract {contract.id}, line {line.line_key}, {period.start}",
        created_at=utcnow(),
    ).on_conflict_do_nothing().returning(table.c.id)
    todo_id = db.session.scalar(statement)
    if todo_id is None:
        return None  # filed before for this line, period and threshold
    todo = db.session.get(Todo, todo_id)
    audit.record("contracts.volume_todo", todo, title, {
        "contract_id": contract.id, "line_key": line.line_key,
        "period_start": period.start.isoformat(), "kind": kind.value,
        "used": str(status.used), "included": str(status.included)}, user_id=user_id)
    return todo


# --- reading -----------------------------------------------------------------------------


def _periods_clause(periods: dict[int, Period]):  # noqa: ANN202 - a SQL condition
    """Usages of each contract in its own period: one branch per distinct period."""
    by_period: dict[Period, list[int]] = defaultdict(list)
    for contract_id, period in periods.items():
        by_period[period].append(contract_id)
    return or_(*(and_(VolumeUsage.contract_id.in_(ids), VolumeUsage.used_on >= period.start,
                      VolumeUsage.used_on < period.end)
                 for period, ids in by_period.items()))


def _used(periods: dict[int, Period]) -> dict[tuple[int, int], Decimal]:
    """What each contract's lines used in the contract's period: one query."""
    if not periods:
        return {}
    rows = db.session.execute(
        select(VolumeUsage.contract_id, VolumeUsage.line_key, func.sum(VolumeUsage.quantity))
        .where(_periods_clause(periods))
        .group_by(VolumeUsage.contract_id, VolumeUsage.line_key))
    return {(contract_id, key): Decimal(total) for contract_id, key, total in rows}


def _flat_terms(contracts: Sequence[Contract], periods: dict[int, Period],
                histories: Histories) -> dict[int, dict[int, ContractLine]]:
    """Per contract, its flat-fee lines' terms in its period (contracts without none)."""
    found: dict[int, dict[int, ContractLine]] = {}
    for contract in contracts:
        period = periods.get(contract.id)
        if period is None:
            continue
        for key, history in sorted(histories.get(contract.id, {}).items()):
            if all(line.included_quantity is None for line in history):
                continue
            terms = terms_for_period(history, period, contract.start_date, contract.last_day)
            if terms is not None:
                found.setdefault(contract.id, {})[key] = terms
    return found


def flat_lines(history_by_key: dict[int, list[ContractLine]]) -> list[ContractLine]:
    """Each line that is a flat fee with a volume in any version: its latest such version."""
    found = []
    for _key, history in sorted(history_by_key.items()):
        with_volume = [line for line in history
                       if line.included_quantity is not None and not line.removed]
        if with_volume:
            found.append(with_volume[-1])
    return found


def volume_status(contract: Contract, line_key: int, period: Period) -> VolumeStatus | None:
    """A flat-fee line's volume in a period; None when the line has no volume in it.

    ``period`` is normally the contract's billing period containing a day
    (``proration.period_containing(day, contract.billing_period)``).
    """
    history = services.versions(contract).get(line_key)
    if not history:
        return None
    terms = terms_for_period(history, period, contract.start_date, contract.last_day)
    if terms is None or terms.included_quantity is None:
        return None
    used = _used({contract.id: period}).get((contract.id, line_key), Decimal(0))
    return status_of(terms.included_quantity, used)


def current_volumes(contracts: Sequence[Contract], day: date,
                    histories: Histories | None = None, *, with_usages: bool = False,
                    ) -> dict[int, list[LineVolume]]:
    """Each contract's flat-fee lines in its billing period containing the day.

    The day is taken into the contract's service (its start, at the earliest; its last day,
    at the latest). Two queries at most, whatever the number of contracts: the line
    versions (unless given) and the usages (summed, or, ``with_usages``, each of them).
    """
    if not contracts:
        return {}
    if histories is None:
        histories = services.versions_of([contract.id for contract in contracts])
    periods = {}
    for contract in contracts:
        on = max(day, contract.start_date)
        if contract.last_day is not None:
            on = max(min(on, contract.last_day), contract.start_date)
        periods[contract.id] = period_containing(on, contract.billing_period)
    flat = _flat_terms(contracts, periods, histories)
    if not flat:
        return {}
    wanted = {contract_id: periods[contract_id] for contract_id in flat}
    listed: dict[tuple[int, int], list[VolumeUsage]] = defaultdict(list)
    if with_usages:
        for usage in db.session.scalars(
                select(VolumeUsage).where(_periods_clause(wanted))
                .order_by(VolumeUsage.used_on, VolumeUsage.id)):
            listed[usage.contract_id, usage.line_key].append(usage)
        used = {key: sum((u.quantity for u in usages), Decimal(0))
                for key, usages in listed.items()}
    else:
        used = _used(wanted)
    found: dict[int, list[LineVolume]] = {}
    for contract in contracts:
        for key, terms in flat.get(contract.id, {}).items():
            found.setdefault(contract.id, []).append(LineVolume(
                contract, terms, periods[contract.id],
                status_of(terms.included_quantity, used.get((contract.id, key), Decimal(0))),
                tuple(listed.get((contract.id, key), ()))))
    return found


def customer_volumes(customer_id: int, day: date) -> list[LineVolume]:
    """The customer's contracts in service on the day: their flat-fee lines this period."""
    contracts = db.session.scalars(
        select(Contract).where(
            Contract.customer_id == customer_id, Contract.start_date <= day,
            or_(Contract.termination_date.is_(None), Contract.termination_date >= day),
            or_(Contract.end_date.is_(None), Contract.end_date >= day))
        .order_by(Contract.number)).all()
    by_contract = current_volumes(contracts, day)
    return [volume for contract in contracts for volume in by_contract.get(contract.id, [])]


# --- billing -----------------------------------------------------------------------------


def overage_for(contracts: list[Contract], periods: dict[int, Period],
                versions: Histories) -> dict[int, list[OverageLine]]:
    """Each contract's excess over its flat-fee lines' volumes in its period, to bill.

    ``periods`` gives, per contract id, the period whose excess is billed (for a run:
    ``overage_period(run_date, contract.billing_period)``: in arrears); ``versions`` the
    contracts' line versions (``services.versions_of``, as a run reads them once). One
    query of usages for all the contracts, and one of the products that bill an excess;
    contracts without an excess are left out.
    """
    flat = _flat_terms(contracts, periods, versions)
    if not flat:
        return {}
    used = _used({contract_id: periods[contract_id] for contract_id in flat})
    excesses = []
    for contract in contracts:
        for key, terms in flat.get(contract.id, {}).items():
            status = status_of(terms.included_quantity, used.get((contract.id, key),
                                                                  Decimal(0)))
            if status.excess > 0:
                excesses.append((contract.id, terms, status))
    if not excesses:
        return {}
    number = {contract.id: contract.number for contract in contracts}
    for contract_id, terms, _ in excesses:
        if terms.overage_product_id is None and terms.product_id is None:
            raise ContractError(f"{number[contract_id]}, {terms.description}: choose the"
                                " product the excess over the volume is billed as.")
    product_ids = {terms.overage_product_id or terms.product_id for _, terms, _ in excesses}
    products = {row.id: row for row in db.session.execute(
        select(Product.id, Product.vat_rate_id, Product.unit).where(
            Product.id.in_(product_ids)))}
    found: dict[int, list[OverageLine]] = defaultdict(list)
    for contract_id, terms, status in excesses:
        product = products[terms.overage_product_id or terms.product_id]
        vat_rate_id = (product.vat_rate_id if terms.overage_product_id
                       else terms.vat_rate_id or product.vat_rate_id)
        unit = terms.included_unit or product.unit
        text = f"{unit} beyond the" if unit else "beyond the"
        found[contract_id].append(OverageLine(
            line_key=terms.line_key,
            description=f"{terms.description} — {text} {plain_decimal(status.included)}"
                        " included",
            product_id=product.id, quantity=status.excess, unit=unit, unit_price=None,
            vat_rate_id=vat_rate_id, site_id=terms.site_id, period=periods[contract_id]))
    return dict(found)
