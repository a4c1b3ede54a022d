"""Contracts: set one up, give it lines, amend it by annexes, terminate it, read it at a date."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from saas.billing.catalog.models import Product, VatRate
from saas.billing.contracts.models import (
    Contract,
    ContractAnnex,
    ContractLine,
    ContractSite,
    ContractType,
)
from saas.billing.contracts.proration import BillingPeriod, Period, Segment, line_amount, segments
from saas.billing.customers.models import Customer, Site
from saas.billing.documents.models import net_unit_price
from saas.billing.money import check_currency
from saas.extensions import db
from saas.tenants import audit

if TYPE_CHECKING:
    from saas.billing.contracts.termination import Termination

# The largest quantity the QUANTITY columns hold (Numeric(14, 4)).
QUANTITY_LIMIT = Decimal("1e10")

LINE_FIELDS = ("product_id", "description", "quantity", "unit", "unit_price",
               "discount_percent", "vat_rate_id", "site_id", "included_quantity",
               "included_unit", "overage_product_id")


class ContractError(ValueError):
    """A refused change, with the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def create_type(name: str) -> ContractType:
    name = name.strip()
    if not name:
        raise ContractError("Name the contract type.", "name")
    if db.session.scalar(select(ContractType.id).where(
            func.lower(ContractType.name) == name.lower())):
        raise ContractError(f"There is a contract type {name!r} already.", "name")
    created = ContractType(name=name[:100])
    db.session.add(created)
    db.session.flush()
    return created


def next_number() -> str:
    count = db.session.scalar(select(func.count()).select_from(Contract)) or 0
    while True:
        count += 1
        number = f"C-{count:04}"
        if not db.session.scalar(select(Contract.id).where(Contract.number == number)):
            return number


def create_contract(customer: Customer, values: dict[str, Any],
                    user_id: int | None = None) -> Contract:
    """A contract for the customer from its start date (lines are added after)."""
    if customer.is_archived:
        raise ContractError(f"{customer.name} is archived.", "customer_id")
    start, end = values.get("start_date"), values.get("end_date")
    if start is None:
        raise ContractError("Give the date the contract starts.", "start_date")
    if end is not None and end < start:
        raise ContractError("The end date is before the start.", "end_date")
    day = values.get("billing_day") or 1
    if not 1 <= day <= 28:
        raise ContractError("Bill on a day from 1 to 28 (every month has it).", "billing_day")
    currency = values.get("currency") or customer.currency
    try:
        check_currency(currency)
    except ValueError as exc:
        raise ContractError(str(exc), "currency") from None
    number = (values.get("number") or "").strip() or next_number()
    if db.session.scalar(select(Contract.id).where(Contract.number == number)):
        raise ContractError(f"Contract {number} exists already.", "number")
    contract = Contract(
        number=number[:40], customer_id=customer.id, customer=customer,
        contract_type_id=values.get("contract_type_id") or None,
        title=(values.get("title") or "").strip()[:200], start_date=start, end_date=end,
        notice_months=values.get("notice_months") or 0,
        billing_period=BillingPeriod(values.get("billing_period") or BillingPeriod.MONTHLY),
        in_advance=bool(values.get("in_advance")), billing_day=day, currency=currency,
        payment_terms_days=values.get("payment_terms_days")
        if values.get("payment_terms_days") is not None else customer.payment_terms_days,
        notes=(values.get("notes") or "").strip(), created_by_id=user_id)
    db.session.add(contract)
    db.session.flush()
    set_sites(contract, values.get("site_ids") or [])
    audit.record("contracts.created", contract,
                 f"Contract {contract.number} for {customer.name} from {start}",
                 user_id=user_id)
    return contract


def set_sites(contract: Contract, site_ids: list[int]) -> None:
    """The sites the contract covers: the customer's own only."""
    sites = db.session.scalars(select(Site).where(Site.id.in_(site_ids))).all()
    if len(sites) != len(set(site_ids)) or any(s.customer_id != contract.customer_id
                                               for s in sites):
        raise ContractError(f"Choose sites of {contract.customer.name}.", "site_ids")
    for existing in db.session.scalars(select(ContractSite).where(
            ContractSite.contract_id == contract.id)):
        db.session.delete(existing)
    db.session.flush()
    for site in sites:
        db.session.add(ContractSite(contract_id=contract.id, site_id=site.id))
    db.session.flush()
    db.session.expire(contract, ["sites"])


def _line_values(contract: Contract, values: dict[str, Any]) -> dict[str, Any]:
    product = None
    if values.get("product_id"):
        product = db.session.get(Product, values["product_id"])
        if product is None:
            raise ContractError("Choose one of your products.", "product_id")
    description = (values.get("description") or "").strip() or (product.name if product else "")
    if not description:
        raise ContractError("Describe the line or choose a product.", "description")
    quantity = values.get("quantity")
    if quantity is None or quantity < 0:
        raise ContractError("Give a quantity of 0 or more.", "quantity")
    price = values.get("unit_price")
    if price is None and product is None:
        raise ContractError("Give a price, or choose a product to price from the price list.",
                            "unit_price")
    vat_id = values.get("vat_rate_id") or (product.vat_rate_id if product else None)
    if vat_id is None or db.session.get(VatRate, vat_id) is None:
        raise ContractError("Choose a VAT rate.", "vat_rate_id")
    site_id = values.get("site_id") or None
    if site_id is not None:
        site = db.session.get(Site, site_id)
        if site is None or site.customer_id != contract.customer_id:
            raise ContractError(f"Choose a site of {contract.customer.name}.", "site_id")
    return {"product_id": product.id if product else None, "description": description,
            "quantity": quantity, "unit": (values.get("unit") or
                                           (product.unit if product else "")).strip(),
            "unit_price": price, "discount_percent": values.get("discount_percent")
            or Decimal(0), "vat_rate_id": vat_id, "site_id": site_id,
            **_volume_values(product, values)}


def _volume_values(product: Product | None, values: dict[str, Any]) -> dict[str, Any]:
    """A flat fee's included volume (R4.6): above 0, and a product to price the excess."""
    included = values.get("included_quantity")
    overage = None
    if values.get("overage_product_id"):
        overage = db.session.get(Product, values["overage_product_id"])
        if overage is None:
            raise ContractError("Choose one of your products to bill the excess.",
                                "overage_product_id")
    unit = (values.get("included_unit") or "").strip()
    if included is None:
        if overage is not None or unit:
            raise ContractError("Give the included volume, or leave the volume's unit and"
                                " \"Excess billed as\" blank.", "included_quantity")
        return {"included_quantity": None, "included_unit": "", "overage_product_id": None}
    if included <= 0:
        raise ContractError("The included volume must be above 0 (leave it blank for a line"
                            " without one).", "included_quantity")
    if -included.normalize().as_tuple().exponent > 4 or included >= QUANTITY_LIMIT:
        raise ContractError("Give the included volume with at most 4 decimals and under"
                            " 10,000,000,000.", "included_quantity")
    pricing = overage or product
    if pricing is None:
        raise ContractError("A flat fee with an included volume bills the excess at a"
                            " product's price: choose the line's product or the product"
                            " the excess is billed as.", "overage_product_id")
    unit = unit or pricing.unit
    if len(unit) > 20:
        raise ContractError("Give the volume's unit in at most 20 characters.",
                            "included_unit")
    return {"included_quantity": included, "included_unit": unit,
            "overage_product_id": overage.id if overage else None}


def add_line(contract: Contract, values: dict[str, Any]) -> ContractLine:
    """A line of the contract as signed (in force from its start)."""
    key = (db.session.scalar(select(func.max(ContractLine.line_key)).where(
        ContractLine.contract_id == contract.id)) or 0) + 1
    line = ContractLine(contract_id=contract.id, line_key=key,
                        effective_from=contract.start_date, **_line_values(contract, values))
    db.session.add(line)
    db.session.flush()
    return line


def add_annex(contract: Contract, effective_date: date, description: str,
              changes: list[dict[str, Any]], user_id: int | None = None) -> ContractAnnex:
    """Amend the contract from a date: each change adds, changes or removes a line.

    A change is ``{"action": "add", **line}``, ``{"action": "change", "line_key": k,
    **line}`` or ``{"action": "remove", "line_key": k}``.
    """
    if effective_date <= contract.start_date:
        raise ContractError("An annex applies after the contract starts: change the lines"
                            " themselves before that.", "effective_date")
    if contract.last_day is not None and effective_date > contract.last_day:
        raise ContractError(f"The contract ends on {contract.last_day}.", "effective_date")
    if not changes:
        raise ContractError("An annex changes at least one line.")
    number = (db.session.scalar(select(func.max(ContractAnnex.number)).where(
        ContractAnnex.contract_id == contract.id)) or 0) + 1
    annex = ContractAnnex(contract_id=contract.id, number=number,
                          effective_date=effective_date, description=description.strip(),
                          created_by_id=user_id)
    db.session.add(annex)
    db.session.flush()
    current = {line.line_key: line for line in version_at(contract, effective_date)}
    next_key = (db.session.scalar(select(func.max(ContractLine.line_key)).where(
        ContractLine.contract_id == contract.id)) or 0) + 1
    for change in changes:
        action = change.get("action")
        if action == "add":
            values, key = _line_values(contract, change), next_key
            next_key += 1
        elif action in ("change", "remove"):
            key = change.get("line_key")
            if key not in current:
                raise ContractError("Choose a line the contract has on that date.", "line_key")
            old = current[key]
            values = {name: getattr(old, name) for name in LINE_FIELDS}
            if action == "change":
                values = _line_values(contract, {**values, **{
                    k: v for k, v in change.items() if k in LINE_FIELDS and v not in (None, "")}})
        else:
            raise ContractError("Add, change or remove a line.", "action")
        db.session.add(ContractLine(contract_id=contract.id, line_key=key,
                                    effective_from=effective_date, annex_id=annex.id,
                                    removed=action == "remove", **values))
    db.session.flush()
    audit.record("contracts.annex", contract,
                 f"Annex {number} to contract {contract.number} from {effective_date}",
                 user_id=user_id)
    return annex


def terminate(contract: Contract, last_day: date, user_id: int | None = None) -> Termination:
    """End the contract after the given day (the last day of service), and settle what was
    billed beyond it; what was done is returned.

    Issued invoices get draft credit notes for the days not served, draft invoices have
    the contract's lines made again. Moved again, earlier or later, a termination counts
    from what issued credit notes gave back and makes its own earlier drafts again, so no
    day is credited twice; days an issued credit note gave back are reported, not billed
    again (``termination.py`` tells how). All or nothing: a refusal (a ContractError)
    leaves the contract and its invoices as they were.
    """
    from saas.billing.contracts import termination  # it builds on this module
    from saas.billing.documents.services import DocumentError

    if last_day < contract.start_date:
        raise ContractError("The last day is before the contract starts.", "termination_date")
    before = contract.last_day
    try:
        with db.session.begin_nested():
            contract.termination_date = last_day
            since = min(day for day in (before, contract.last_day) if day is not None)
            done = termination.settle(contract, since, user_id=user_id)
            audit.record("contracts.terminated", contract,
                         f"Contract {contract.number} terminated: last day {last_day}",
                         user_id=user_id)
    except DocumentError as exc:
        raise ContractError(f"{exc} Nothing was changed.", "termination_date") from None
    return done


def versions(contract: Contract) -> dict[int, list[ContractLine]]:
    """Every line's versions in date order, by line key."""
    return versions_of([contract.id]).get(contract.id, {})


def versions_of(contract_ids: list[int]) -> dict[int, dict[int, list[ContractLine]]]:
    """Every line version of many contracts in one query: contract -> line key -> versions."""
    lines = db.session.scalars(
        select(ContractLine).where(ContractLine.contract_id.in_(contract_ids))
        .order_by(ContractLine.contract_id, ContractLine.line_key,
                  ContractLine.effective_from, ContractLine.id)).all()
    found: dict[int, dict[int, list[ContractLine]]] = defaultdict(lambda: defaultdict(list))
    for line in lines:
        found[line.contract_id][line.line_key].append(line)
    return {contract_id: dict(by_key) for contract_id, by_key in found.items()}


def version_at(contract: Contract, day: date,
               history_by_key: dict[int, list[ContractLine]] | None = None,
               ) -> list[ContractLine]:
    """The contract's lines as they stood on the day (removed ones left out)."""
    found = []
    if history_by_key is None:
        history_by_key = versions(contract)
    for _key, history in sorted(history_by_key.items()):
        in_force = [line for line in history if line.effective_from <= day]
        if in_force and not in_force[-1].removed:
            found.append(in_force[-1])
    return found


@dataclass(frozen=True)
class PeriodLine:
    """What one contract line comes to for one period: its versions' parts, one amount."""

    line_key: int
    description: str
    segments: list[Segment[ContractLine]]
    amount: Decimal  # net, prorated, rounded once


def _net_price(price_list: Callable[[ContractLine], Decimal] | None,
               ) -> Callable[[ContractLine], tuple[Decimal, Decimal]]:
    def price(line: ContractLine) -> tuple[Decimal, Decimal]:
        if line.removed:
            return Decimal(0), Decimal(0)
        unit_price = line.unit_price
        if unit_price is None:
            if price_list is None:
                raise ContractError(f"{line.description}: the price comes from the price"
                                    " list when the period is billed.")
            unit_price = price_list(line)
        # As on an invoice line: the unit price after discount, to 4 decimals.
        return net_unit_price(unit_price, line.discount_percent), line.quantity
    return price


def period_lines(contract: Contract, period: Period,
                 price_list: Callable[[ContractLine], Decimal] | None = None,
                 history_by_key: dict[int, list[ContractLine]] | None = None,
                 ) -> list[PeriodLine]:
    """Each line's prorated net amount for a period, annexes inside it included (R4.3).

    Lines without a fixed price are priced by ``price_list`` (the billing run's); a run
    passes every contract's versions, read at once (``versions_of``).
    """
    found = []
    if history_by_key is None:
        history_by_key = versions(contract)
    for key, history in sorted(history_by_key.items()):
        first = max(history[0].effective_from, contract.start_date)
        parts = segments(period, first, contract.last_day,
                         [(line.effective_from, line) for line in history])
        parts = [part for part in parts if not part.value.removed]
        if not parts:
            continue
        found.append(PeriodLine(key, parts[-1].value.description, parts,
                                line_amount(parts, contract.currency,
                                            _net_price(price_list))))
    return found
