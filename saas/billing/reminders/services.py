"""Managing reminders: the policy and its levels, pauses, and billing the charges.

Fees and interest a reminder charged are never added to the issued invoice: staff bill
them, per customer and currency, on a new draft invoice (one line per charge), which
they review and issue like any other. A charge is billed once: the reminder remembers
the invoice that bills it (and forgets it if that draft is deleted).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from saas.billing.catalog.models import VatCategory, VatRate
from saas.billing.customers.models import Customer
from saas.billing.documents import services as documents
from saas.billing.documents.models import Document
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind as K
from saas.billing.reminders import policy as rules
from saas.billing.reminders.models import (
    FeeKind,
    Reminder,
    ReminderLevel,
    ReminderPause,
    ReminderPolicy,
    ReminderStatus,
)
from saas.extensions import db
from saas.tenants import audit

LATE_PAYMENT_VAT_CODE = "LATE"


class ReminderError(ValueError):
    """A refused change, with the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def policy() -> ReminderPolicy | None:
    return db.session.scalar(select(ReminderPolicy))


def levels() -> list[ReminderLevel]:
    return list(db.session.scalars(select(ReminderLevel).order_by(ReminderLevel.position)))


def adopt_suggested_policy(user_id: int | None = None) -> ReminderPolicy:
    """Give the current tenant the suggested policy (three levels), if it has none."""
    existing = policy()
    if existing is not None:
        return existing
    created = ReminderPolicy(enabled=True, interest_rate=Decimal(0))
    db.session.add(created)
    for position, defaults in enumerate(rules.SUGGESTED_LEVELS, start=1):
        db.session.add(ReminderLevel(
            position=position, name=defaults.name, days_after_due=defaults.days_after_due,
            tone=defaults.tone, fee_kind=defaults.fee_kind, fee_amount=defaults.fee_amount,
            charge_interest=defaults.charge_interest, attach_letter=defaults.attach_letter))
    db.session.flush()
    audit.record("reminders.policy", created, "Adopted the suggested reminder policy",
                 user_id=user_id)
    return created


def update_policy(values: dict[str, Any], user_id: int | None = None) -> ReminderPolicy:
    current = policy() or ReminderPolicy()
    rate = values.get("interest_rate")
    if rate is not None and not Decimal(0) <= rate <= Decimal(100):
        raise ReminderError("The interest rate is a yearly percentage from 0 to 100.",
                            "interest_rate")
    for name in ("enabled", "interest_rate", "min_days_between", "notify_after_days",
                 "attach_invoice"):
        if name in values and values[name] is not None:
            setattr(current, name, values[name])
    if current.min_days_between is not None and current.min_days_between < 1:
        raise ReminderError("Reminders of one invoice must be at least a day apart.",
                            "min_days_between")
    db.session.add(current)
    db.session.flush()
    audit.record("reminders.policy", current, "Changed the reminder policy", user_id=user_id)
    return current


def save_level(level: ReminderLevel | None, values: dict[str, Any],
               user_id: int | None = None) -> ReminderLevel:
    """Add a level (at the end) or change one; levels stay ordered by their days."""
    if policy() is None:
        db.session.add(ReminderPolicy())
    fee_kind = FeeKind(values.get("fee_kind") or FeeKind.NONE)
    amount = values.get("fee_amount") or Decimal(0)
    percent = values.get("fee_percent") or Decimal(0)
    if fee_kind == FeeKind.FIXED and amount <= 0:
        raise ReminderError("Enter the fixed fee, or choose no fee.", "fee_amount")
    if fee_kind == FeeKind.PERCENT and not Decimal(0) < percent <= Decimal(100):
        raise ReminderError("Enter the fee as a percentage above 0 and up to 100.",
                            "fee_percent")
    cap = values.get("fee_cap")
    if cap is not None and cap < 0:
        raise ReminderError("The cap cannot be negative.", "fee_cap")
    days = values.get("days_after_due")
    if days is None or not -60 <= days <= 365:
        raise ReminderError("Days after the due date: from -60 (before it) to 365.",
                            "days_after_due")
    if level is not None and days != level.days_after_due and db.session.scalar(
            select(Reminder.id).where(Reminder.level_day == level.days_after_due).limit(1)):
        raise ReminderError(
            f"{level.name} has gone out {level.days_after_due} days after the due date, and"
            " what invoices have had stays so: add a new level for another day.",
            "days_after_due")
    others = [other for other in levels() if level is None or other.id != level.id]
    if any(other.days_after_due == days for other in others):
        raise ReminderError(f"Another level already goes out {days} days after the due date.",
                            "days_after_due")
    name = (values.get("name") or "").strip()
    if not name:
        raise ReminderError("Name the level (it is printed on the letter).", "name")
    if level is None:
        level = ReminderLevel(position=0)
        db.session.add(level)
    level.name, level.days_after_due = name[:100], days
    level.tone = values.get("tone") or level.tone
    level.message = (values.get("message") or "").strip()
    level.attach_letter = bool(values.get("attach_letter"))
    level.fee_kind, level.fee_amount, level.fee_percent = fee_kind, amount, percent
    level.fee_cap = cap if fee_kind == FeeKind.PERCENT else None
    level.charge_interest = bool(values.get("charge_interest"))
    _renumber([*others, level])
    db.session.flush()
    audit.record("reminders.level", level, f"Saved reminder level {level.name}",
                 user_id=user_id)
    return level


def delete_level(level: ReminderLevel, user_id: int | None = None) -> None:
    """Remove a level; reminders already sent keep its name and day."""
    if db.session.scalar(select(Reminder.id).where(
            Reminder.level_day == level.days_after_due,
            Reminder.status.in_([ReminderStatus.NEW, ReminderStatus.PREPARED])).limit(1)):
        raise ReminderError(f"{level.name} has reminders on their way: wait until they are sent.")
    audit.record("reminders.level", level, f"Removed reminder level {level.name}",
                 user_id=user_id)
    db.session.delete(level)
    db.session.flush()
    _renumber(levels())


def _renumber(ordered: list[ReminderLevel]) -> None:
    """Positions follow the days (1, 2, 3 ...); moved in two steps to respect uniqueness."""
    ordered = sorted(ordered, key=lambda level: level.days_after_due)
    for offset, level in enumerate(ordered, start=1):
        level.position = 1000 + offset
    db.session.flush()
    for offset, level in enumerate(ordered, start=1):
        level.position = offset
    db.session.flush()


# --- pauses ------------------------------------------------------------------------------


def pause_of(document: Document | None = None,
             customer: Customer | None = None) -> ReminderPause | None:
    """The pause that holds the document's (or the customer's) reminders, if any."""
    conditions = []
    if document is not None:
        conditions += [ReminderPause.document_id == document.id,
                       ReminderPause.customer_id == document.customer_id]
    if customer is not None:
        conditions.append(ReminderPause.customer_id == customer.id)
    return db.session.scalar(select(ReminderPause).where(or_(*conditions))
                             .order_by(ReminderPause.customer_id.is_(None)).limit(1))


def pause(*, document: Document | None = None, customer: Customer | None = None,
          reason: str = "", user_id: int | None = None) -> ReminderPause:
    """Hold reminders for one invoice or every invoice of a customer (a dispute)."""
    if document is not None and document.kind != K.INVOICE:
        raise ReminderError("Only invoices are reminded.")
    target = ReminderPause.document_id == document.id if document is not None else (
        ReminderPause.customer_id == customer.id)
    existing = db.session.scalar(select(ReminderPause).where(target))
    if existing is not None:
        return existing
    held = ReminderPause(document_id=document.id if document else None,
                         customer_id=customer.id if customer else None,
                         reason=reason.strip()[:2000], created_by_id=user_id)
    db.session.add(held)
    db.session.flush()
    what = document.title if document is not None else f"{customer.name} (all invoices)"
    audit.record("reminders.paused", document or customer,
                 f"Reminders paused for {what}: {reason.strip() or 'no reason given'}",
                 user_id=user_id)
    return held


def resume(held: ReminderPause, user_id: int | None = None) -> None:
    subject = held.document_id and db.session.get(Document, held.document_id) or \
        db.session.get(Customer, held.customer_id)
    audit.record("reminders.resumed", subject, "Reminders resumed", user_id=user_id)
    db.session.delete(held)
    db.session.flush()


def of_document(document: Document) -> list[Reminder]:
    return list(db.session.scalars(select(Reminder).where(Reminder.document_id == document.id)
                                   .order_by(Reminder.level_day)))


# --- billing the charges -----------------------------------------------------------------


def unbilled(customer_id: int | None = None) -> list[Reminder]:
    """Sent reminders whose fee or interest is not billed yet."""
    statement = select(Reminder).options(
        joinedload(Reminder.customer), joinedload(Reminder.document)).where(
        Reminder.status == ReminderStatus.SENT, Reminder.billed_document_id.is_(None),
        or_(Reminder.fee > 0, Reminder.interest > 0)).order_by(Reminder.id)
    if customer_id is not None:
        statement = statement.where(Reminder.customer_id == customer_id)
    return list(db.session.scalars(statement))


def _charges_vat_rate() -> VatRate:
    """The rate for late-payment charges: compensation, outside the scope of VAT."""
    found = db.session.scalar(select(VatRate).where(VatRate.code == LATE_PAYMENT_VAT_CODE))
    if found is None:
        found = VatRate(code=LATE_PAYMENT_VAT_CODE, name="Late-payment charges", rate=Decimal(0),
                        category=VatCategory.EXEMPT,
                        note="Late-payment fee and interest: compensation, not a supply.")
        db.session.add(found)
        db.session.flush()
    return found


def bill_charges(customer: Customer, user_id: int | None = None) -> list[Document]:
    """Draft one invoice per currency with the customer's unbilled reminder charges."""
    pending = unbilled(customer.id)
    if not pending:
        raise ReminderError(f"{customer.name} has no reminder fees or interest to bill.")
    rate = _charges_vat_rate()
    by_currency: dict[str, list[Reminder]] = defaultdict(list)
    for reminder in pending:
        by_currency[reminder.currency].append(reminder)
    drafts = []
    for currency, reminders in sorted(by_currency.items()):
        try:
            draft = documents.create_document(K.INVOICE, customer, {"currency": currency},
                                              user_id=user_id)
        except DocumentError as exc:
            raise ReminderError(str(exc)) from None
        for reminder in reminders:
            number = reminder.document.number
            if reminder.fee > 0:
                documents.add_line(draft, {
                    "description": f"Reminder fee: {reminder.level_name}, invoice {number}",
                    "quantity": Decimal(1), "unit_price": reminder.fee,
                    "discount_percent": Decimal(0), "vat_rate_id": rate.id})
            if reminder.interest > 0:
                documents.add_line(draft, {
                    "description": (f"Interest on invoice {number}: {reminder.interest_days}"
                                    f" days at {reminder.interest_rate.normalize():f}% a year"),
                    "quantity": Decimal(1), "unit_price": reminder.interest,
                    "discount_percent": Decimal(0), "vat_rate_id": rate.id})
            reminder.billed_document_id = draft.id
        audit.record("reminders.billed", draft,
                     f"Reminder charges of {customer.name} drafted on an invoice",
                     user_id=user_id)
        drafts.append(draft)
    db.session.flush()
    return drafts
