"""The bureau's fees (R8): what it did for each client in a month, billed by the engine
that bills any work.

Recording a month (``record_month``; on the 1st for the month before by ``rq cron
saas.cron``, or by hand: ``flask bureau record-fees``) counts, inside each client's tenant
and for the days of the month the bureau served it, the documents issued, the letters
posted (post deliveries marked printed) and the bank lines matched. The counts are kept in
``BureauActivity`` (one row per client and month) and turned into billable items of the
client's customer record in the bureau by ``items.capture`` under the fee events
(``bureau_documents``, ``bureau_letters``, ``bureau_bank_lines``, ``bureau_month``): the
bureau's billing rules choose products and quantities, its price terms the prices (a
client's own price included), a contract's prepaid volume of the product is used first, and
the items wait in its billable-items inbox like any work. Only the fees chosen for the client
are captured (``BureauClient.fee_*``).

Recording a month again counts again and updates the items still open; items already
invoiced stay as they were, so recording is safe to repeat. ``invoice_month`` puts each
client's open fee items of a month on a draft invoice (or issues it); the bureau can as
well pull them from the inbox itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from saas import clock
from saas.billing.documents import issuing
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.payments.models import BankLine, BankLineStatus
from saas.billing.work import items
from saas.billing.work.models import BillableItem, BillingRule, ItemStatus
from saas.extensions import db
from saas.outsourced_service.models import BureauActivity, BureauClient
from saas.queue import job
from saas.tenants import audit, scoping
from saas.tenants.models import Tenant, TenantKind


@dataclass(frozen=True)
class Fee:
    flag: str  # the BureauClient column that says whether the client pays it
    event: str  # items.EVENTS; also the items' source type
    count: str | None  # the BureauActivity column that is its quantity (None: one a month)
    what: str


FEES = (
    Fee("fee_documents", "bureau_documents", "documents", "documents issued"),
    Fee("fee_letters", "bureau_letters", "letters", "letters posted"),
    Fee("fee_bank_lines", "bureau_bank_lines", "bank_lines", "bank lines matched"),
    Fee("fee_monthly", "bureau_month", None, "monthly fee"),
)
SOURCE_TYPES = tuple(fee.event for fee in FEES)


def month_of(day: date) -> tuple[date, date]:
    """The first day of the day's month and of the next one."""
    start = day.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1)


def previous_month(today: date) -> date:
    return month_of(month_of(today)[0] - timedelta(days=1))[0]


# --- counting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    documents: int
    letters: int
    bank_lines: int


def activity_counts(served_from: date, served_until: date, timezone: str) -> Counts:
    """What was done in the current (client) tenant on the days [from, until): one query."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(served_from, time(), zone)
    end = datetime.combine(served_until, time(), zone)

    def count(statement):  # noqa: ANN001, ANN202
        return select(func.count()).select_from(statement.subquery()).scalar_subquery()

    row = db.session.execute(select(
        count(select(Document.id).where(Document.number.is_not(None),
                                        Document.issue_date >= served_from,
                                        Document.issue_date < served_until)),
        count(select(Delivery.id).where(Delivery.channel == "post",
                                        Delivery.status == DeliveryStatus.SENT,
                                        Delivery.sent_at >= start, Delivery.sent_at < end)),
        count(select(BankLine.id).where(BankLine.status == BankLineStatus.MATCHED,
                                        BankLine.booked_on >= served_from,
                                        BankLine.booked_on < served_until)),
    )).one()
    return Counts(*row)


# --- recording a month ---------------------------------------------------------------------


def _served(links: list[BureauClient], period_start: date, period_end: date,
            timezone: str) -> tuple[date, date]:
    """The days of the month the client was served: [from, until)."""
    zone = ZoneInfo(timezone)
    starts = [link.started_at.astimezone(zone).date() for link in links]
    ends = [period_end if link.ended_at is None
            else link.ended_at.astimezone(zone).date() + timedelta(days=1) for link in links]
    return max(period_start, min(starts)), min(period_end, max(ends))


def record_month(period_start: date) -> list[BureauActivity]:
    """Count the month of every client the current bureau served in it and capture its
    fees; again for a month recorded before, updating what is not invoiced yet."""
    period_start, period_end = month_of(period_start)
    bureau = db.session.get(Tenant, scoping.require_tenant_id())
    zone = ZoneInfo(bureau.timezone)
    first = datetime.combine(period_start, time(), zone)
    after = datetime.combine(period_end, time(), zone)
    links_of: dict[int, list[BureauClient]] = defaultdict(list)
    for link in db.session.scalars(
        select(BureauClient).where(
            BureauClient.started_at < after,
            or_(BureauClient.ended_at.is_(None), BureauClient.ended_at >= first))
        .order_by(BureauClient.started_at, BureauClient.id)
    ):
        links_of[link.client_tenant_id].append(link)
    recorded = []
    for client_id, links in links_of.items():
        client = db.session.get(Tenant, client_id)
        served_from, served_until = _served(links, period_start, period_end, client.timezone)
        if served_from >= served_until:
            continue
        db.session.flush()  # the bureau's changes so far, in the bureau's tenant
        with scoping.tenant_context(client_id):
            counts = activity_counts(served_from, served_until, client.timezone)
        activity = db.session.scalar(select(BureauActivity).where(
            BureauActivity.client_tenant_id == client_id,
            BureauActivity.period_start == period_start))
        if activity is None:
            activity = BureauActivity(client_tenant_id=client_id, period_start=period_start,
                                      period_end=period_end)
            db.session.add(activity)
        activity.bureau_client_id = links[-1].id
        activity.served_from, activity.served_until = served_from, served_until
        activity.documents, activity.letters = counts.documents, counts.letters
        activity.bank_lines, activity.recorded_at = counts.bank_lines, clock.now()
        db.session.flush()
        _capture(activity, links[-1], client)
        recorded.append(activity)
    if recorded:
        audit.record("bureau.fees_recorded", None,
                     f"Activity of {period_start:%Y-%m} recorded for {len(recorded)} clients",
                     {"period": period_start.isoformat()})
    return recorded


def _capture(activity: BureauActivity, link: BureauClient, client: Tenant) -> None:
    """Turn the month's counts into billable items, or withdraw those no longer due."""
    for fee in FEES:
        quantity = 1 if fee.count is None else getattr(activity, fee.count)
        if getattr(link, fee.flag) and quantity > 0:
            items.capture(
                event=fee.event, customer=link.customer, source_type=fee.event,
                source_id=activity.id, occurred_on=activity.last_served_day,
                quantity=Decimal(quantity),
                description=f"{client.display_name}, {activity.period_start:%Y-%m}: {fee.what}"
                + (f" ({quantity})" if fee.count else ""))
        else:
            try:
                items.withdraw(fee.event, activity.id)
            except items.BillingError:
                pass  # invoiced already: it stays as billed


def fee_items(activities: list[BureauActivity]) -> dict[int, list[BillableItem]]:
    """The fee items captured for the activities, per activity."""
    found: dict[int, list[BillableItem]] = defaultdict(list)
    if activities:
        for item in db.session.scalars(
            select(BillableItem).where(
                BillableItem.source_type.in_(SOURCE_TYPES),
                BillableItem.source_id.in_([activity.id for activity in activities]))
            .order_by(BillableItem.id)
        ):
            found[item.source_id].append(item)
    return found


def events_without_rules() -> list[str]:
    """The fee events no enabled billing rule of the current bureau turns into items."""
    ruled = set(db.session.scalars(select(BillingRule.event).where(
        BillingRule.event.in_(SOURCE_TYPES), BillingRule.is_enabled.is_(True))))
    return [items.EVENTS[event] for event in SOURCE_TYPES if event not in ruled]


# --- invoicing -----------------------------------------------------------------------------


def invoice_month(period_start: date, *, issue: bool = False,
                  user_id: int | None = None) -> list[Document]:
    """Put each client's open fee items of the month on an invoice: a draft, or issued."""
    activities = db.session.scalars(select(BureauActivity).where(
        BureauActivity.period_start == month_of(period_start)[0])
        .order_by(BureauActivity.id)).all()
    by_customer: dict[int, list[BillableItem]] = defaultdict(list)
    for found in fee_items(list(activities)).values():
        for item in found:
            if item.status == ItemStatus.OPEN:
                by_customer[item.customer_id].append(item)
    invoices = []
    for grouped in by_customer.values():
        invoice = items.bill_items(grouped[0].customer, [item.id for item in grouped],
                                   user_id=user_id)
        if issue:
            issuing.issue_document(invoice, user_id=user_id)
        invoices.append(invoice)
    return invoices


# --- every bureau, every month -------------------------------------------------------------


@dataclass
class MonthRun:
    bureaus: int = 0
    clients: int = 0
    invoices: int = 0


def record_bureaus(month: date | None = None, tenant_ids: list[int] | None = None, *,
                   invoice: bool = False) -> MonthRun:
    """Record (and maybe invoice) a month for every bureau, or the ones given, each
    committed on its own; by default the month before each bureau's today."""
    statement = select(Tenant.id, Tenant.timezone).where(Tenant.kind == TenantKind.BUREAU)
    if tenant_ids is not None:
        statement = statement.where(Tenant.id.in_(tenant_ids))
    result = MonthRun()
    for tenant_id, timezone in db.session.execute(statement.order_by(Tenant.id)).all():
        with scoping.tenant_context(tenant_id):
            period = month or previous_month(clock.today_in(timezone))
            result.clients += len(record_month(period))
            if invoice:
                result.invoices += len(invoice_month(period))
            result.bureaus += 1
        db.session.commit()
    return result


@job
def record_last_month() -> int:
    """Scheduled on the 1st: every bureau's month before, recorded (not invoiced)."""
    return record_bureaus().clients
