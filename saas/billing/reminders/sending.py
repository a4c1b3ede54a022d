"""Preparing and sending claimed reminders; telling the tenant who has still not paid.

``send_reminders`` (a mail-queue job, one per chunk the sweep claimed) prepares the
chunk's reminders together, once, in one transaction — works out each fee and interest,
picks the recipient, records the delivery that carries it, already claimed (see
``delivery.py``: at least once, same Message-ID on a retry) — then sends them one by one
through one SMTP connection, recording each outcome. The invoice is checked in that
transaction, just before sending: a reminder of an invoice paid, credited or paused since
the sweep is cancelled, not sent. A retried job finds its reminders prepared and sends
their waiting deliveries the generic way (``delivery.deliver_one``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.orm import joinedload

from saas import clock
from saas.billing.customers.models import DeliveryPreference
from saas.billing.documents import delivery as deliveries
from saas.billing.documents.emails import reminder_email, unpaid_notice_email
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.reminders import policy as rules
from saas.billing.reminders.letter import DemandLetter, OpenItem, render_letter
from saas.billing.reminders.models import (
    Reminder,
    ReminderLevel,
    ReminderPause,
    ReminderPolicy,
    ReminderStatus,
    Tone,
)
from saas.billing.todos.models import Todo
from saas.extensions import db
from saas.mail import Mail, postman
from saas.queue import job
from saas.tenants.models import Branding, Membership, Role, Tenant, User
from saas.tenants.services import absolute_url

OPEN_STATES = (S.ISSUED, S.PARTLY_PAID)
# Who hears that a customer has still not paid after the last reminder.
NOTIFIED_ROLES = (Role.OWNER, Role.ADMIN, Role.ACCOUNTANT, Role.COLLECTOR)


def open_amount(document: Document) -> Decimal:
    """What is still owed on an invoice: its gross total less payments and credit notes."""
    return document.open_amount


def is_paused(document: Document) -> bool:
    return bool(db.session.scalar(select(exists().where(or_(
        ReminderPause.document_id == document.id,
        ReminderPause.customer_id == document.customer_id)))))


def still_due(document: Document) -> bool:
    return document.status in OPEN_STATES and not is_paused(document)


@dataclass
class Settings:
    """What every reminder of the tenant shares, read once per job (detached copies)."""

    policy: ReminderPolicy | None
    levels: dict[int, ReminderLevel]
    branding: Branding | None

    @classmethod
    def load(cls) -> Settings:
        policy = db.session.scalar(select(ReminderPolicy))
        levels = {level.days_after_due: level
                  for level in db.session.scalars(select(ReminderLevel))}
        branding = deliveries.current_branding()
        for loaded in (policy, branding, *levels.values()):
            if loaded is not None:
                db.session.expunge(loaded)  # commits must not expire them
        return cls(policy, levels, branding)

    @property
    def attach_invoice(self) -> bool:
        return self.policy is None or self.policy.attach_invoice


@dataclass(frozen=True)
class Prepared:
    """A reminder worked out and its delivery claimed, with everything its e-mail needs."""

    delivery_id: int
    reminder_id: int
    mail: Mail  # without the letter: rendered after the claim is committed
    letter: DemandLetter | None  # None when the level attaches no letter
    letter_name: str


@job
def send_reminders(reminder_ids: Sequence[int], day: str) -> int:
    """Mail-queue job: prepare claimed reminders together, then send them one by one.

    Returns how many went out now; raises after trying them all if any failed (RQ retries).
    """
    today = date.fromisoformat(day)
    settings = Settings.load()
    worker = deliveries._claimant()
    batch = prepare(reminder_ids, today, settings, worker)
    sent, failed = 0, []
    with postman() as carrier:
        for item in batch:
            if isinstance(item, int):  # prepared by an earlier attempt: its delivery waits
                delivery_id = item
                outcome = deliveries.deliver_one(delivery_id, carrier, worker)
            else:
                delivery_id = item.delivery_id
                outcome = deliveries.send_claimed(delivery_id, item.reminder_id,
                                                  _with_letter(item), carrier)
            sent += outcome is True
            if outcome is False:
                failed.append(delivery_id)
    if failed:
        raise deliveries.DeliveryFailed.of(failed, len(reminder_ids))
    return sent


@dataclass
class _Chunk:
    """What a chunk's reminders read about their invoices, in a few queries for all."""

    paused: set[int]  # invoice ids held by a pause of the invoice or its customer
    charged_days: dict[int, int]  # invoice id -> interest days charged so far
    open_rows: dict[tuple[int, str], list[Any]]  # (customer, currency) -> open invoices

    @classmethod
    def load(cls, documents: list[Document]) -> _Chunk:
        ids = [d.id for d in documents]
        customers = {d.customer_id for d in documents}
        if not ids:
            return cls(set(), {}, {})
        pauses = db.session.execute(select(ReminderPause.document_id, ReminderPause.customer_id)
                                    .where(or_(ReminderPause.document_id.in_(ids),
                                               ReminderPause.customer_id.in_(customers)))).all()
        held_docs = {p.document_id for p in pauses if p.document_id}
        held_customers = {p.customer_id for p in pauses if p.customer_id}
        paused = {d.id for d in documents
                  if d.id in held_docs or d.customer_id in held_customers}
        charged = dict(db.session.execute(
            select(Reminder.document_id, func.sum(Reminder.interest_days))
            .where(Reminder.document_id.in_(ids)).group_by(Reminder.document_id)).all())
        open_rows: dict[tuple[int, str], list[Any]] = {}
        for row in db.session.execute(_open_invoices().where(
                Document.customer_id.in_(customers))):
            open_rows.setdefault((row.customer_id, row.currency), []).append(row)
        return cls(paused, {k: int(v or 0) for k, v in charged.items()}, open_rows)


def prepare(reminder_ids: Sequence[int], today: date, settings: Settings,
            worker: str) -> list[Prepared | int]:
    """Work out the claimed reminders once and claim their deliveries, in one transaction.

    Returns, in order, what to send, or the id of the waiting delivery of a reminder
    prepared before; sent, cancelled, settled, paused or unaddressed ones are left out.
    """
    loading = joinedload(Reminder.document, innerjoin=True)
    if settings.attach_invoice:
        loading = loading.undefer(Document.pdf)
    reminders = db.session.scalars(
        select(Reminder).options(loading, joinedload(Reminder.customer, innerjoin=True))
        .where(Reminder.id.in_(list(reminder_ids))).order_by(Reminder.id).with_for_update(of=Reminder)).all()
    fresh = [r for r in reminders if r.status == ReminderStatus.NEW]
    chunk = _Chunk.load([r.document for r in fresh])
    batch: list[Prepared | int] = []
    claimed: list[tuple[Delivery, Prepared]] = []
    for reminder in reminders:
        if reminder.status in (ReminderStatus.SENT, ReminderStatus.CANCELLED):
            continue
        if reminder.status != ReminderStatus.NEW:
            waiting = db.session.scalar(
                select(Delivery.id).where(Delivery.reminder_id == reminder.id,
                                          Delivery.status != DeliveryStatus.SENT)
                .order_by(Delivery.id.desc()).limit(1))
            if waiting is not None:
                batch.append(waiting)
            continue
        document = reminder.document
        if document.status not in OPEN_STATES or document.id in chunk.paused:
            _cancel(reminder, "Not sent: the invoice was settled or its reminders paused.")
            continue
        level = settings.levels.get(reminder.level_day)
        _work_out_charges(reminder, document, today, level, settings.policy,
                          chunk.charged_days.get(document.id, 0))
        if reminder.customer.delivery_preference == DeliveryPreference.POST:
            reminder.status = ReminderStatus.TO_PRINT
            reminder.note = "By post: in the next print batch (Documents → Post)."
            continue
        recipient = deliveries.default_recipient(document)
        if not recipient:
            reminder.status = ReminderStatus.FAILED
            reminder.note = "No e-mail address for invoices: print the letter and post it."
            continue
        delivery = Delivery(document_id=document.id, recipient=recipient, subject="",
                            reminder_id=reminder.id)
        deliveries.claim(delivery, worker)
        items = _items(chunk.open_rows.get((document.customer_id, document.currency), []),
                       document, reminder.reminded_on)
        prepared = compose(reminder, level, settings, delivery, items)
        delivery.subject = prepared.mail.subject[:300]
        db.session.add(delivery)
        reminder.status = ReminderStatus.PREPARED
        claimed.append((delivery, prepared))
    db.session.flush()
    ids = {prepared.reminder_id: delivery.id for delivery, prepared in claimed}
    db.session.commit()  # worked out and claimed at once: a crash from here resends
    return [replace(item, delivery_id=ids[item.reminder_id]) if isinstance(item, Prepared)
            else item for item in _in_order(batch, [p for _, p in claimed], reminder_ids)]


def _in_order(waiting: list[int], prepared: list[Prepared],
              reminder_ids: Sequence[int]) -> list[Prepared | int]:
    order = {reminder_id: n for n, reminder_id in enumerate(reminder_ids)}
    return [*waiting, *sorted(prepared, key=lambda p: order.get(p.reminder_id, 0))]


def compose(reminder: Reminder, level: ReminderLevel | None, settings: Settings,
            delivery: Delivery, items: list[OpenItem] | None = None) -> Prepared:
    """The reminder's e-mail (the letter to render apart) for a claimed delivery."""
    document = reminder.document
    letter = letter_for(reminder, level, settings.branding, items)
    # The portal's link that opens the invoice online (none when no portal is set up).
    content = reminder_email(letter, settings.branding,
                             portal_url=deliveries.portal_url(document, delivery.recipient))
    attachments = ((deliveries.pdf_attachment(document),) if settings.attach_invoice else ())
    mail = Mail(to=delivery.recipient, subject=content.subject, text=content.text,
                html=content.html, sender_name=deliveries.sender_name(settings.branding, document),
                reply_to=settings.branding.reply_to if settings.branding else "",
                attachments=attachments, message_id=delivery.message_id)
    return Prepared(delivery_id=delivery.id or 0, reminder_id=reminder.id, mail=mail,
                    letter=letter if level is None or level.attach_letter else None,
                    letter_name=f"{letter_file_stem(reminder)}.pdf")


def _with_letter(prepared: Prepared) -> Mail:
    if prepared.letter is None:
        return prepared.mail
    letter = (prepared.letter_name, "application/pdf", render_letter(prepared.letter))
    return replace(prepared.mail, attachments=(letter, *prepared.mail.attachments))


def _cancel(reminder: Reminder, note: str) -> None:
    reminder.status, reminder.note = ReminderStatus.CANCELLED, note


def _level(day: int) -> ReminderLevel | None:
    return db.session.scalar(select(ReminderLevel).where(ReminderLevel.days_after_due == day))


def _work_out_charges(reminder: Reminder, document: Document, today: date,
                      level: ReminderLevel | None, policy: ReminderPolicy | None,
                      charged_days: int) -> None:
    amount = open_amount(document)
    reminder.open_amount, reminder.currency = amount, document.currency
    if level is None:
        return
    reminder.fee = rules.fee(
        level.fee_kind, amount, document.currency, amount=level.fee_amount,
        percent=level.fee_percent, cap=level.fee_cap, exchange_rate=document.exchange_rate)
    if level.charge_interest and policy is not None and policy.interest_rate > 0:
        days = rules.interest_days(document.due_date, today, charged_days)
        reminder.interest_days, reminder.interest_rate = days, policy.interest_rate
        reminder.interest = rules.interest(amount, document.currency, policy.interest_rate, days)


def _open_invoices() -> Select[Any]:
    return (select(Document.id, Document.customer_id, Document.currency, Document.number,
                   Document.issue_date, Document.due_date,
                   (Document.gross_total - Document.paid_total).label("open_amount"))
            .where(Document.kind == K.INVOICE, Document.status.in_(OPEN_STATES))
            .order_by(Document.due_date, Document.id))


def _items(rows: list[Any], document: Document, on: date) -> list[OpenItem]:
    """The letter's open items: overdue open invoices, and the reminded one."""
    return [OpenItem(number=row.number or "", issue_date=row.issue_date,
                     due_date=row.due_date, amount=row.open_amount,  # as open_amount() says
                     days_overdue=max((on - row.due_date).days, 0) if row.due_date else 0)
            for row in rows if row.id == document.id or (row.due_date and row.due_date < on)]


def open_items(document: Document, on: date) -> list[OpenItem]:
    """The customer's overdue open invoices in the document's currency, and the document."""
    rows = db.session.execute(_open_invoices().where(
        Document.customer_id == document.customer_id,
        Document.currency == document.currency)).all()
    return _items(rows, document, on)


def letter_for(reminder: Reminder, level: ReminderLevel | None = None,
               branding: Branding | None = None,
               items: list[OpenItem] | None = None) -> DemandLetter:
    """The letter a reminder prints and e-mails (as it stood when it was prepared)."""
    document = reminder.document
    level = level or _level(reminder.level_day)
    branding = branding or deliveries.current_branding()
    tone = level.tone if level is not None else Tone.REMINDER
    return DemandLetter(
        language=document.language,
        currency=document.currency,
        tone=tone.value,
        level_name=reminder.level_name,
        message=level.message if level is not None else "",
        letter_date=reminder.reminded_on,
        seller=document.seller or {},
        buyer=document.buyer or {},
        invoice_number=document.number or "",
        invoice_due=document.due_date,
        items=tuple(items if items is not None else open_items(document,
                                                               reminder.reminded_on)),
        fee=reminder.fee or Decimal(0),
        interest=reminder.interest or Decimal(0),
        interest_days=reminder.interest_days,
        interest_rate=reminder.interest_rate or Decimal(0),
        payment_reference=document.payment_reference,
        logo=branding.logo if branding is not None else None,
    )


def letter_pdf(reminder: Reminder) -> bytes:
    return render_letter(letter_for(reminder))


def reminder_composer(delivery: Delivery) -> Callable[[Delivery], Mail] | None:
    """How to write a reminder's e-mail again (a retry, a resend), or None if it must not go."""
    reminder = db.session.get(Reminder, delivery.reminder_id)
    if reminder is None or not still_due(reminder.document):
        if reminder is not None:
            _cancel(reminder, "Not sent: the invoice was settled or its reminders paused.")
        return None
    settings = Settings.load()
    level = settings.levels.get(reminder.level_day)
    return lambda delivery: _with_letter(compose(reminder, level, settings, delivery))


def letter_file_stem(reminder: Reminder) -> str:
    number = (reminder.document.number or "").replace("/", "-")
    return f"reminder-{number}-{reminder.reminded_on.isoformat()}"


def mirror_outcome(reminder_id: int, status: DeliveryStatus, error: str) -> None:
    """Show a reminder delivery's outcome on the reminder (a cancelled one stays so)."""
    if status == DeliveryStatus.SENT:
        values, allowed = {"status": ReminderStatus.SENT, "note": ""}, (ReminderStatus.SENT,)
    elif status == DeliveryStatus.FAILED:
        values, allowed = {"status": ReminderStatus.FAILED, "note": error[:500]}, ()
    else:
        return
    db.session.execute(
        update(Reminder).where(Reminder.id == reminder_id,
                               Reminder.status.not_in([ReminderStatus.CANCELLED, *allowed]))
        .values(**values), execution_options={"synchronize_session": False})



@job
def notify_unpaid(todo_ids: Sequence[int]) -> int:
    """Mail-queue job: e-mail the tenant's users once about invoices still unpaid."""
    todos = db.session.scalars(
        select(Todo).where(Todo.id.in_(list(todo_ids)), Todo.notified_at.is_(None))
        .order_by(Todo.id).with_for_update()).all()
    if not todos:
        return 0
    tenant = db.session.get(Tenant, todos[0].tenant_id)
    recipients = db.session.scalars(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.role.in_(NOTIFIED_ROLES)).order_by(User.email)).all()
    rows = [{
        "customer": todo.customer.name if todo.customer else "",
        "number": todo.document.number if todo.document else "",
        "due_date": todo.document.due_date.isoformat() if todo.document
        and todo.document.due_date else "",
        "amount": f"{open_amount(todo.document):,.2f} {todo.document.currency}"
        if todo.document else "",
        "url": absolute_url("documents.show", tenant_slug=tenant.slug,
                            document_id=todo.document_id)
        if todo.document_id else absolute_url("todos.index", tenant_slug=tenant.slug),
    } for todo in todos]
    content = unpaid_notice_email(tenant.display_name, rows,
                                  current_app.config["PUBLIC_URL"].rstrip("/"))
    with postman() as carrier:
        for email in recipients:
            carrier.send(Mail(to=email, subject=content.subject, text=content.text,
                              html=content.html))
    for todo in todos:
        todo.notified_at = clock.now()
    return len(todos)


def demand_letter_now(document: Document, today: date) -> bytes:
    """The payment demand to print with an invoice (R6.5): its latest reminder's letter,
    or, if it was never reminded, a demand for what is open today without charges."""
    latest = db.session.scalar(
        select(Reminder).where(Reminder.document_id == document.id,
                               Reminder.status != ReminderStatus.CANCELLED)
        .order_by(Reminder.level_day.desc()).limit(1))
    if latest is not None and latest.open_amount is not None:
        return letter_pdf(latest)
    branding = deliveries.current_branding()
    return render_letter(DemandLetter(
        language=document.language, currency=document.currency, tone=Tone.DEMAND.value,
        level_name="", message="", letter_date=today, seller=document.seller or {},
        buyer=document.buyer or {}, invoice_number=document.number or "",
        invoice_due=document.due_date, items=tuple(open_items(document, today)),
        fee=Decimal(0), interest=Decimal(0), interest_days=0, interest_rate=Decimal(0),
        payment_reference=document.payment_reference,
        logo=branding.logo if branding is not None else None))
