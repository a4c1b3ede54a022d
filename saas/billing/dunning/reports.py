"""Collection reports (R6.8, R9.2): open cases by stage and collector with their overdue
amounts, and what was recovered per month — amounts in the tenant's currency, converted
at each invoice's recorded rate.

Recovered is money (payments, not credit notes) allocated to a case's invoices from the
day the case opened until the day it closed.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from saas.billing.documents.models import Document
from saas.billing.dunning import queries
from saas.billing.dunning.models import CaseInvoice, CaseStatus, CollectionCase
from saas.billing.payments.models import Allocation
from saas.billing.reports.exports import neutralise
from saas.extensions import db

ZERO = Decimal(0)
NO_STAGE = "Before legal stages"
NOBODY = "Unassigned"


@dataclass(frozen=True)
class CaseRow:
    case: CollectionCase
    stage: str
    collector: str
    overdue: Decimal


@dataclass(frozen=True)
class StageSummary:
    stage: str
    cases: int
    overdue: Decimal
    by_collector: dict[str, Decimal]


def open_cases(today: date) -> list[CaseRow]:
    cases = db.session.scalars(
        select(CollectionCase)
        .options(
            joinedload(CollectionCase.customer),
            joinedload(CollectionCase.collector),
            joinedload(CollectionCase.legal_stage),
        )
        .where(CollectionCase.status == CaseStatus.OPEN)
        .order_by(CollectionCase.number)
    ).all()
    overdue = queries.case_overdue(list(cases), today)
    return [
        CaseRow(
            case,
            case.legal_stage.name if case.legal_stage else NO_STAGE,
            case.collector.name if case.collector else NOBODY,
            overdue[case.id],
        )
        for case in cases
    ]


def by_stage(rows: list[CaseRow]) -> list[StageSummary]:
    """Per stage (in path order as first met, cases before any stage first): the count,
    the overdue total and the overdue per collector."""
    order = sorted(
        {(row.case.legal_stage.position if row.case.legal_stage else 0, row.stage) for row in rows}
    )
    summaries = []
    for _, stage in order:
        mine = [row for row in rows if row.stage == stage]
        collectors: dict[str, Decimal] = defaultdict(Decimal)
        for row in mine:
            collectors[row.collector] += row.overdue
        summaries.append(
            StageSummary(stage, len(mine), sum((r.overdue for r in mine), ZERO), dict(collectors))
        )
    return summaries


def by_collector(rows: list[CaseRow]) -> list[tuple[str, int, Decimal]]:
    totals: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for row in rows:
        totals[row.collector][0] += 1
        totals[row.collector][1] += row.overdue
    return sorted(
        ((name, count, amount) for name, (count, amount) in totals.items()),
        key=lambda item: -item[2],
    )


def recovered(date_from: date, date_to: date) -> list[tuple[str, Decimal]]:
    """Per month (YYYY-MM) of the period, money allocated to cases' invoices while open."""
    rows = db.session.execute(
        select(Allocation.allocated_on, Allocation.amount * Document.exchange_rate)
        .join(Document, Document.id == Allocation.invoice_id)
        .join(CaseInvoice, CaseInvoice.document_id == Allocation.invoice_id)
        .join(CollectionCase, CollectionCase.id == CaseInvoice.case_id)
        .where(
            Allocation.payment_id.is_not(None),
            Allocation.reversed_at.is_(None),
            Allocation.allocated_on >= CollectionCase.opened_on,
            (CollectionCase.closed_on.is_(None))
            | (Allocation.allocated_on <= CollectionCase.closed_on),
            Allocation.allocated_on >= date_from,
            Allocation.allocated_on <= date_to,
        )
    ).all()
    months: dict[str, Decimal] = defaultdict(Decimal)
    for on, amount in rows:
        months[f"{on:%Y-%m}"] += Decimal(amount)
    return sorted(months.items())


CASES_HEADER = (
    "case",
    "customer number",
    "customer",
    "opened on",
    "reason",
    "collector",
    "stage",
    "next contact",
    "overdue",
)


def cases_csv(rows: list[CaseRow], currency: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow((*CASES_HEADER[:-1], f"overdue ({currency})"))
    for row in rows:
        case = row.case
        writer.writerow(
            [
                neutralise(value)
                for value in (
                    case.number,
                    case.customer.number,
                    case.customer.name,
                    case.opened_on.isoformat(),
                    case.open_reason.label,
                    row.collector,
                    row.stage,
                    case.next_contact_on.isoformat() if case.next_contact_on else "",
                    f"{row.overdue.quantize(Decimal('0.01'))}",
                )
            ]
        )
    return out.getvalue()


def recovered_csv(months: list[tuple[str, Decimal]], currency: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("month", f"recovered ({currency})"))
    for month, amount in months:
        writer.writerow((month, f"{amount.quantize(Decimal('0.01'))}"))
    return out.getvalue()
