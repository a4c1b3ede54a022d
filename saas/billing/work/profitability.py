"""Project profitability (R5.11): load a project's revenue, time and payables, and let
``margin_rules.py`` work out the margin; the CSV export of the same figures.

Everything is shown in the tenant's currency: the project's billable items (invoiced and
still open; written-off ones earn nothing) and payables in another currency are converted
at the rate table's rate on their day, and the members' cost rates are kept in it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from saas.billing.catalog import pricing
from saas.billing.catalog.prices import conversion
from saas.billing.money import exact_product, quantize_money
from saas.billing.reports.exports import neutralise
from saas.billing.work.margin_rules import Margin, TimeRow, project_margin
from saas.billing.work.models import BillableItem, ItemStatus, Project, TimeEntry
from saas.billing.work.payable_models import PayableItem
from saas.billing.work.setup import cost_rates
from saas.billing.work.source_common import SourceError
from saas.extensions import db
from saas.tenants.models import User


@dataclass(frozen=True)
class ProjectProfit:
    project: Project
    margin: Margin


def _in_currency(amount: Decimal, from_currency: str, to_currency: str, on: date) -> Decimal:
    if from_currency == to_currency:
        return amount
    try:
        rate = conversion(from_currency, to_currency, on)
    except pricing.NoExchangeRate as exc:
        raise SourceError(f"{exc} Add the rate to show the project's figures.") from None
    return quantize_money(amount * rate.factor, to_currency)


def member_name(user: User) -> str:
    return user.name or user.email


def project_profit(project: Project, currency: str) -> ProjectProfit:
    """The project's revenue, costs, margin and time per member, in ``currency``."""
    invoiced = to_invoice = Decimal(0)
    for item in db.session.scalars(
        select(BillableItem).where(
            BillableItem.project_id == project.id,
            BillableItem.status.in_([ItemStatus.OPEN, ItemStatus.INVOICED]),
        )
    ):
        amount = _in_currency(item.amount, item.currency, currency, item.occurred_on)
        if item.status == ItemStatus.INVOICED:
            invoiced += amount
        else:
            to_invoice += amount
    payables = [
        _in_currency(
            quantize_money(exact_product(p.quantity, p.unit_price), p.currency),
            p.currency,
            currency,
            p.occurred_on,
        )
        for p in db.session.scalars(select(PayableItem).where(PayableItem.project_id == project.id))
    ]
    time = db.session.execute(
        select(User, TimeEntry.kind, func.sum(TimeEntry.minutes))
        .join(User, User.id == TimeEntry.user_id)
        .where(TimeEntry.project_id == project.id)
        .group_by(User.id, TimeEntry.kind)
    ).all()
    rows = [TimeRow(member_name(user), kind, int(minutes)) for user, kind, minutes in time]
    by_user = cost_rates()
    rates = {member_name(user): by_user[user.id] for user, _, _ in time if user.id in by_user}
    return ProjectProfit(
        project,
        project_margin(
            currency=currency,
            revenue_invoiced=invoiced,
            revenue_to_invoice=to_invoice,
            time_rows=rows,
            rates=rates,
            payables=payables,
        ),
    )


HEADER = (
    "project",
    "customer",
    "figure",
    "member",
    "billable hours",
    "internal hours",
    "bug-fix hours",
    "amount",
    "currency",
)


def profitability_csv(profits: Iterable[ProjectProfit]) -> str:
    """The figures of projects as CSV: the money rows, then a row per member's time.

    Texts are made inert for spreadsheets (``neutralise``); amounts are plain decimals, a
    negative margin included.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for profit in profits:
        margin, project = profit.margin, profit.project
        head = (project.name, project.customer.name)
        for figure, amount in (
            ("revenue invoiced", margin.revenue_invoiced),
            ("revenue to invoice", margin.revenue_to_invoice),
            ("cost of time", margin.cost_of_time),
            ("cost of payables", margin.cost_of_payables),
            ("gross margin", margin.margin),
        ):
            writer.writerow(
                [*map(neutralise, (*head, figure)), "", "", "", "", f"{amount:f}", margin.currency]
            )
        for member in margin.members:
            writer.writerow(
                [
                    *map(neutralise, (*head, "time", member.member)),
                    f"{member.billable:f}",
                    f"{member.internal:f}",
                    f"{member.bug_fix:f}",
                    f"{member.cost:f}",
                    margin.currency,
                ]
            )
    return out.getvalue()
