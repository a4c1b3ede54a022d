"""Collection cases: open, hand invoices over, assign, note a contact, close, reopen.

Nothing here commits: the request, job or sweep does. Every change is in the case's
history (``CaseEvent``) and the sensitive ones in the audit log. A case pauses the
reminders of each invoice it holds (``reminders.services.pause``) unless something paused
it already, and resumes only the pauses it made when it closes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.dunning import queries
from saas.billing.dunning.models import (
    CaseEvent,
    CaseInvoice,
    CaseStatus,
    Channel,
    CloseReason,
    CollectionCase,
    CollectionSettings,
    ContactNote,
    LegalPath,
    OpenReason,
    Outcome,
)
from saas.billing.money import quantize_money
from saas.billing.payments.models import Allocation, Payment
from saas.billing.reminders import services as reminders
from saas.billing.reminders.models import ReminderPause
from saas.billing.todos.models import Todo, TodoKind
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.models import Membership
from saas.tenants.services import ServiceError

ZERO = Decimal(0)


class CollectionError(ServiceError):
    """A refused change, with the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def settings() -> CollectionSettings:
    """The tenant's collection settings (defaults until saved)."""
    return db.session.scalar(select(CollectionSettings)) or CollectionSettings(
        open_after_reminders=True, threshold=None, interest_rate=Decimal(0)
    )


def save_settings(values: dict[str, Any], user_id: int | None = None) -> CollectionSettings:
    current = db.session.scalar(select(CollectionSettings)) or CollectionSettings()
    threshold = values.get("threshold")
    if threshold is not None and threshold <= 0:
        raise CollectionError(
            "The threshold is an amount above zero (leave it empty for none).", "threshold"
        )
    rate = values.get("interest_rate") or Decimal(0)
    if not Decimal(0) <= rate <= Decimal(100):
        raise CollectionError(
            "The interest rate is a yearly percentage from 0 to 100.", "interest_rate"
        )
    collector_id = values.get("default_collector_id") or None
    if collector_id is not None:
        _check_collector(collector_id, "default_collector_id")
    current.open_after_reminders = bool(values.get("open_after_reminders"))
    current.threshold, current.interest_rate = threshold, rate
    current.default_collector_id = collector_id
    db.session.add(current)
    db.session.flush()
    audit.record("collection.settings", current, "Changed the collection settings", user_id=user_id)
    return current


def _check_collector(user_id: int, field: str = "collector_id") -> Membership:
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user_id))
    if membership is None or membership.role not in queries.COLLECTOR_ROLES:
        raise CollectionError("Choose a member who collects (a collector or staff).", field)
    return membership


def _event(
    case: CollectionCase, kind: str, text: str, on: date, user_id: int | None = None
) -> CaseEvent:
    event = CaseEvent(case_id=case.id, kind=kind, text=text[:2000], happened_on=on, user_id=user_id)
    db.session.add(event)
    return event


def _least_busy_collector() -> int | None:
    """The default collector, else the collector-role member with the fewest open cases."""
    chosen = settings().default_collector_id
    if chosen is not None:
        return chosen
    counts = queries.open_case_counts()
    members = [m for m in queries.collectors() if m.role.value == "collector"]
    if not members:
        return None
    return min(members, key=lambda m: (counts.get(m.user_id, 0), m.user_id)).user_id


def legal_path_for(customer: Customer) -> LegalPath | None:
    """The path of the customer's category, else the path for every other category."""
    paths = db.session.scalars(select(LegalPath).order_by(LegalPath.id)).all()
    for path in paths:
        if customer.category_id is not None and path.customer_category_id == customer.category_id:
            return path
    return next((path for path in paths if path.customer_category_id is None), None)


def open_case(
    customer: Customer,
    reason: OpenReason,
    today: date,
    *,
    collector_id: int | None = None,
    user_id: int | None = None,
) -> CollectionCase:
    """Open a case for the customer's overdue invoices; refused when one is open already or
    nothing is overdue."""
    existing = queries.open_case_of(customer.id)
    if existing is not None:
        raise CollectionError(f"{customer.name} has an open case already: {existing.title}.")
    if not queries.overdue_invoices(customer.id, today):
        raise CollectionError(f"{customer.name} has no overdue invoice to collect.")
    if collector_id is not None:
        _check_collector(collector_id)
    else:
        collector_id = _least_busy_collector()
    number = (db.session.scalar(select(func.max(CollectionCase.number))) or 0) + 1
    path = legal_path_for(customer)
    case = CollectionCase(
        number=number,
        customer_id=customer.id,
        customer=customer,
        open_reason=reason,
        opened_on=today,
        opened_by_id=user_id,
        collector_id=collector_id,
        next_contact_on=today,
        legal_path_id=path.id if path else None,
    )
    db.session.add(case)
    db.session.flush()
    _event(case, "opened", f"Opened: {reason.label.lower()}", today, user_id)
    added = add_overdue_invoices(case, today, user_id=user_id, quiet=True)
    audit.record(
        "collection.opened",
        case,
        f"{case.title} opened for {customer.name} ({reason.label.lower()}),"
        f" {len(added)} invoice{'s' if len(added) != 1 else ''}",
        user_id=user_id,
    )
    return case


def add_overdue_invoices(
    case: CollectionCase, today: date, *, user_id: int | None = None, quiet: bool = False
) -> list[CaseInvoice]:
    """Hand the customer's overdue invoices not yet in the case to it, pausing their
    reminders; the unpaid-after-reminders to-dos of those invoices are done (the case
    follows them up now)."""
    held = set(
        db.session.scalars(select(CaseInvoice.document_id).where(CaseInvoice.case_id == case.id))
    )
    added = []
    for invoice in queries.overdue_invoices(case.customer_id, today):
        if invoice.id in held:
            continue
        pause_id = None
        if (
            db.session.scalar(
                select(ReminderPause.id).where(ReminderPause.document_id == invoice.id)
            )
            is None
        ):
            pause_id = reminders.pause(
                document=invoice, reason=f"In collection: {case.title}", user_id=user_id
            ).id
        row = CaseInvoice(
            case_id=case.id,
            document_id=invoice.id,
            added_on=today,
            open_amount=invoice.open_amount,
            pause_id=pause_id,
        )
        db.session.add(row)
        added.append(row)
        if not quiet:
            _event(
                case,
                "invoice",
                f"{invoice.title} added ({invoice.open_amount:.2f} {invoice.currency} overdue)",
                today,
                user_id,
            )
    if added:
        for todo in db.session.scalars(
            select(Todo).where(
                Todo.kind == TodoKind.UNPAID_AFTER_REMINDERS,
                Todo.done_at.is_(None),
                Todo.document_id.in_([row.document_id for row in added]),
            )
        ):
            todo.done_at, todo.details = clock.now(), f"Handed to collection: {case.title}"
        db.session.flush()
    return added


def assign(
    case: CollectionCase, collector_id: int | None, today: date, *, user_id: int | None = None
) -> None:
    """Give the case to a collector (None: nobody)."""
    if collector_id is not None:
        membership = _check_collector(collector_id)
        name = membership.user.name
    else:
        name = "nobody"
    if case.collector_id == collector_id:
        return
    case.collector_id = collector_id
    _event(case, "assigned", f"Assigned to {name}", today, user_id)
    audit.record("collection.assigned", case, f"{case.title} assigned to {name}", user_id=user_id)


# --- contact notes -----------------------------------------------------------------------


def _promise(
    values: dict[str, Any], currency: str, today: date
) -> tuple[Decimal | None, date | None]:
    amount, on = values.get("promise_amount"), values.get("promise_on")
    if amount in (None, "") and on is None:
        return None, None
    if amount in (None, "") or on is None:
        raise CollectionError(
            "A promise to pay needs both the amount and the date.",
            "promise_amount" if amount in (None, "") else "promise_on",
        )
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError):
        raise CollectionError("Give the promised amount as a number.", "promise_amount") from None
    if amount <= 0:
        raise CollectionError("The promised amount must be more than zero.", "promise_amount")
    if quantize_money(amount, currency) != amount:
        raise CollectionError(f"{amount} has more decimals than {currency} has.", "promise_amount")
    if on < today:
        raise CollectionError("The promised date cannot be in the past.", "promise_on")
    return amount, on


def add_note(
    case: CollectionCase,
    values: dict[str, Any],
    today: date,
    *,
    user_id: int | None = None,
    at: datetime | None = None,
) -> ContactNote:
    """Log a contact with the customer (R6.6): the balance and overdue amount of this moment
    are saved into the note; its next contact date becomes the case's (R6.7)."""
    if not case.is_open:
        raise CollectionError("The case is closed: reopen it or open a new one.")
    try:
        channel, outcome = Channel(values.get("channel")), Outcome(values.get("outcome"))
    except ValueError:
        raise CollectionError(
            "Choose how the customer was contacted and what came of it.", "channel"
        ) from None
    next_on = values.get("next_contact_on")
    if next_on is None:
        raise CollectionError("Say when to contact the customer next.", "next_contact_on")
    if next_on < today:
        raise CollectionError("The next contact cannot be in the past.", "next_contact_on")
    customer = case.customer
    currency = values.get("promise_currency") or customer.currency
    amount, promised_on = _promise(values, currency, today)
    if promised_on is not None and next_on > promised_on:
        next_on = promised_on  # check on the promise the day it is due
    snapshot = queries.account_snapshot(customer, today)
    balance, overdue = snapshot.get(currency, ["0", "0"])
    note = ContactNote(
        case_id=case.id,
        customer_id=customer.id,
        user_id=user_id,
        contacted_at=at or clock.now(),
        channel=channel,
        outcome=outcome,
        text=(values.get("text") or "").strip()[:5000],
        next_contact_on=next_on,
        promise_amount=amount,
        promise_on=promised_on,
        currency=currency,
        balance=Decimal(balance),
        overdue=Decimal(overdue),
        amounts=snapshot,
    )
    db.session.add(note)
    case.next_contact_on = next_on
    db.session.flush()
    return note


# --- closing and reopening ---------------------------------------------------------------


def _release_pauses(case: CollectionCase, user_id: int | None) -> None:
    for row in case.invoices:
        if row.pause_id is not None:
            held = db.session.get(ReminderPause, row.pause_id)
            row.pause_id = None
            if held is not None:
                reminders.resume(held, user_id=user_id)


def how_paid(case: CollectionCase) -> str:
    """What settled the case's invoices since it opened: payments and credit notes."""
    invoice_ids = [row.document_id for row in case.invoices]
    if not invoice_ids:
        return ""
    allocations = db.session.scalars(
        select(Allocation)
        .where(
            Allocation.invoice_id.in_(invoice_ids),
            Allocation.reversed_at.is_(None),
            Allocation.allocated_on >= case.opened_on,
        )
        .order_by(Allocation.id)
    ).all()
    parts: dict[str, Decimal] = defaultdict(Decimal)
    currencies: dict[str, str] = {}
    for allocation in allocations:
        if allocation.payment_id is not None:
            payment = db.session.get(Payment, allocation.payment_id)
            what = (
                f"payment #{payment.id} of {payment.received_on}"
                f" ({payment.method.label.lower()}"
                f"{', ref. ' + payment.reference if payment.reference else ''})"
            )
        else:
            what = db.session.get(Document, allocation.credit_note_id).title
        parts[what] += allocation.amount
        currencies[what] = allocation.invoice.currency
    return "; ".join(f"{amount:.2f} {currencies[what]} by {what}" for what, amount in parts.items())


def close_paid(case: CollectionCase, today: date, *, user_id: int | None = None) -> None:
    """Close the case by itself: nothing of the customer is overdue any more (R6.7)."""
    note = how_paid(case) or "nothing overdue any more"
    case.status, case.closed_on, case.close_reason = CaseStatus.CLOSED, today, CloseReason.PAID
    case.close_note = f"Paid: {note}"[:2000]
    _release_pauses(case, user_id)
    _event(case, "closed", case.close_note, today, user_id)
    audit.record(
        "collection.closed", case, f"{case.title} closed: paid", {"how": note}, user_id=user_id
    )


def close_by_hand(
    case: CollectionCase, reason: str, today: date, *, user_id: int | None = None
) -> None:
    """Close the case with a reason (written off, settled otherwise, handed elsewhere)."""
    if not case.is_open:
        raise CollectionError("The case is closed already.")
    reason = (reason or "").strip()
    if not reason:
        raise CollectionError("Say why the case is closed.", "reason")
    case.status, case.closed_on = CaseStatus.CLOSED, today
    case.close_reason, case.close_note = CloseReason.MANUAL, reason[:2000]
    _release_pauses(case, user_id)
    _event(case, "closed", f"Closed by hand: {reason}", today, user_id)
    audit.record(
        "collection.closed", case, f"{case.title} closed by hand: {reason}"[:500], user_id=user_id
    )


def reopen(case: CollectionCase, why: str, today: date, *, user_id: int | None = None) -> None:
    """Open a closed case again (a payment that closed it was undone, or by hand)."""
    if case.is_open:
        raise CollectionError("The case is open.")
    if queries.open_case_of(case.customer_id) is not None:
        raise CollectionError(f"{case.customer.name} has another open case.")
    case.status, case.closed_on, case.close_reason = CaseStatus.OPEN, None, None
    case.next_contact_on = today
    db.session.flush()
    for row in case.invoices:
        invoice = row.document
        if (
            invoice.open_amount > 0
            and db.session.scalar(
                select(ReminderPause.id).where(ReminderPause.document_id == invoice.id)
            )
            is None
        ):
            row.pause_id = reminders.pause(
                document=invoice, reason=f"In collection: {case.title}", user_id=user_id
            ).id
    add_overdue_invoices(case, today, user_id=user_id)
    _event(case, "reopened", f"Reopened: {why}", today, user_id)
    audit.record(
        "collection.reopened", case, f"{case.title} reopened: {why}"[:500], user_id=user_id
    )
