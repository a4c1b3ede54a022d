"""Preparing and sending claimed reminders; telling the tenant who has still not paid.

``send_reminders`` (a mail-queue job, one per chunk the sweep claimed) prepares each
reminder once — works out its fee and interest, picks the recipient, records the delivery
that will carry it — and sends it through ``delivery.deliver_one`` (claim, send, record;
at least once, same Message-ID on a retry). Whatever happens in between, the invoice is
checked again just before sending: a reminder of an invoice that was paid, credited or
paused meanwhile is cancelled, not sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import joinedload

from saas import clock
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
    """What is still owed on an invoice (payments are recorded in a later module)."""
    return document.gross_total


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
        levels = {level.position: level for level in db.session.scalars(select(ReminderLevel))}
        branding = db.session.scalar(select(Branding))
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
    """Mail-queue job: prepare and send claimed reminders; return how many went out now."""
    today = date.fromisoformat(day)
    settings = Settings.load()
    worker = deliveries._claimant()
    sent, failed = 0, []
    with postman() as carrier:
        for reminder_id in reminder_ids:
            prepared = prepare(reminder_id, today, settings, worker)
            if prepared is None:
                continue
            if isinstance(prepared, int):  # prepared by an earlier attempt: its delivery waits
                delivery_id = prepared
                outcome = deliveries.deliver_one(delivery_id, carrier, worker)
            else:
                delivery_id = prepared.delivery_id
                outcome = deliveries.send_claimed(delivery_id, reminder_id,
                                                  _with_letter(prepared), carrier)
            sent += outcome is True
            if outcome is False:
                failed.append(delivery_id)
    if failed:
        raise deliveries.DeliveryFailed.of(failed, len(reminder_ids))
    return sent


def prepare(reminder_id: int, today: date, settings: Settings,
            worker: str) -> Prepared | int | None:
    """Work out a claimed reminder once and claim its delivery, in one transaction.

    Returns what to send; the id of the waiting delivery of a reminder prepared before; or
    None when there is nothing to send (sent, cancelled, settled, paused, no address).
    """
    reminder = db.session.scalar(
        select(Reminder).options(joinedload(Reminder.document, innerjoin=True))
        .where(Reminder.id == reminder_id).with_for_update(of=Reminder))
    if reminder is None or reminder.status in (ReminderStatus.SENT, ReminderStatus.CANCELLED):
        db.session.commit()
        return None
    if reminder.status != ReminderStatus.NEW:
        delivery_id = db.session.scalar(
            select(Delivery.id).where(Delivery.reminder_id == reminder.id,
                                      Delivery.status != DeliveryStatus.SENT)
            .order_by(Delivery.id.desc()).limit(1))
        db.session.commit()
        return delivery_id
    document = reminder.document
    if not still_due(document):
        _cancel(reminder, "Not sent: the invoice was settled or its reminders paused.")
        db.session.commit()
        return None
    level = settings.levels.get(reminder.position)
    _work_out_charges(reminder, document, today, level, settings.policy)
    recipient = deliveries.default_recipient(document)
    if not recipient:
        reminder.status = ReminderStatus.FAILED
        reminder.note = "No e-mail address for invoices: print the letter and post it."
        db.session.commit()
        return None
    delivery = Delivery(document_id=document.id, recipient=recipient, subject="",
                        reminder_id=reminder.id)
    deliveries.claim(delivery, worker)
    prepared = compose(reminder, level, settings, delivery)
    delivery.subject = prepared.mail.subject[:300]
    db.session.add(delivery)
    reminder.status = ReminderStatus.PREPARED
    db.session.flush()
    prepared = replace(prepared, delivery_id=delivery.id)
    db.session.commit()  # worked out and claimed at once: a crash from here resends
    return prepared


def compose(reminder: Reminder, level: ReminderLevel | None, settings: Settings,
            delivery: Delivery) -> Prepared:
    """The reminder's e-mail (the letter to render apart) for a claimed delivery."""
    document = reminder.document
    letter = letter_for(reminder, level, settings.branding)
    content = reminder_email(letter, settings.branding)
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


def _level(position: int) -> ReminderLevel | None:
    return db.session.scalar(select(ReminderLevel).where(ReminderLevel.position == position))


def _work_out_charges(reminder: Reminder, document: Document, today: date,
                      level: ReminderLevel | None, policy: ReminderPolicy | None) -> None:
    amount = open_amount(document)
    reminder.open_amount, reminder.currency = amount, document.currency
    if level is None:
        return
    reminder.fee = rules.fee(
        level.fee_kind, amount, document.currency, amount=level.fee_amount,
        percent=level.fee_percent, cap=level.fee_cap, exchange_rate=document.exchange_rate)
    if level.charge_interest and policy is not None and policy.interest_rate > 0:
        charged = db.session.scalar(
            select(func.coalesce(func.sum(Reminder.interest_days), 0))
            .where(Reminder.document_id == document.id, Reminder.id != reminder.id)) or 0
        days = rules.interest_days(document.due_date, today, int(charged))
        reminder.interest_days, reminder.interest_rate = days, policy.interest_rate
        reminder.interest = rules.interest(amount, document.currency, policy.interest_rate, days)


def open_items(document: Document, on: date) -> list[OpenItem]:
    """The customer's overdue open invoices in the document's currency, and the document."""
    invoices = db.session.scalars(
        select(Document).where(
            Document.customer_id == document.customer_id, Document.kind == K.INVOICE,
            Document.status.in_(OPEN_STATES), Document.currency == document.currency,
            or_(Document.due_date < on, Document.id == document.id))
        .order_by(Document.due_date, Document.id)).all()
    return [OpenItem(number=invoice.number or "", issue_date=invoice.issue_date,
                     due_date=invoice.due_date, amount=open_amount(invoice),
                     days_overdue=max((on - invoice.due_date).days, 0) if invoice.due_date else 0)
            for invoice in invoices]


def letter_for(reminder: Reminder, level: ReminderLevel | None = None,
               branding: Branding | None = None) -> DemandLetter:
    """The letter a reminder prints and e-mails (as it stood when it was prepared)."""
    document = reminder.document
    level = level or _level(reminder.position)
    branding = branding or _branding()
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
        items=tuple(open_items(document, reminder.reminded_on)),
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
    level = settings.levels.get(reminder.position)
    return lambda delivery: _with_letter(compose(reminder, level, settings, delivery))


def letter_file_stem(reminder: Reminder) -> str:
    number = (reminder.document.number or "").replace("/", "-")
    return f"reminder-{reminder.position}-{number}"


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


def _branding() -> Branding | None:
    return db.session.scalar(select(Branding))


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
        .order_by(Reminder.position.desc()).limit(1))
    if latest is not None and latest.open_amount is not None:
        return letter_pdf(latest)
    branding = _branding()
    return render_letter(DemandLetter(
        language=document.language, currency=document.currency, tone=Tone.DEMAND.value,
        level_name="", message="", letter_date=today, seller=document.seller or {},
        buyer=document.buyer or {}, invoice_number=document.number or "",
        invoice_due=document.due_date, items=tuple(open_items(document, today)),
        fee=Decimal(0), interest=Decimal(0), interest_days=0, interest_rate=Decimal(0),
        payment_reference=document.payment_reference,
        logo=branding.logo if branding is not None else None))
