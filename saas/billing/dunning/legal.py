"""Legal paths (R6.8): the tenant's stages per customer category, moving a case along its
path (logged in its history and the audit log), and each stage's document.

A stage's document states the claim as of the day it is generated (``claims``), in the
customer's language, and is stored once with its SHA-256: it is never rendered again, so
what was sent stays what the tenant can show. A case with invoices in several currencies
gets one document per currency.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from saas.billing.documents.delivery import current_branding
from saas.billing.documents.issuing import snapshot_buyer, snapshot_seller
from saas.billing.documents.models import Document
from saas.billing.dunning import claims, rules
from saas.billing.dunning.legal_pdf import LegalLetter, render_legal_letter
from saas.billing.dunning.models import (
    CaseDocument,
    CaseEvent,
    CaseInvoice,
    CollectionCase,
    LegalPath,
    LegalStage,
    StageDocument,
)
from saas.billing.dunning.services import CollectionError, settings
from saas.billing.money import quantize_money
from saas.billing.reminders.models import Reminder, ReminderPolicy, ReminderStatus
from saas.extensions import db
from saas.tenants import audit

ZERO = Decimal(0)


# --- the tenant's paths ------------------------------------------------------------------


def paths() -> list[LegalPath]:
    return list(db.session.scalars(select(LegalPath).order_by(LegalPath.id)))


def save_path(
    path: LegalPath | None, values: dict[str, Any], user_id: int | None = None
) -> LegalPath:
    name = (values.get("name") or "").strip()
    if not name:
        raise CollectionError("Name the legal path.", "name")
    category_id = values.get("customer_category_id") or None
    clash = db.session.scalar(
        select(LegalPath).where(
            LegalPath.customer_category_id.is_(None)
            if category_id is None
            else LegalPath.customer_category_id == category_id
        )
    )
    if clash is not None and (path is None or clash.id != path.id):
        raise CollectionError(
            f"{clash.name} is the path for that category already.", "customer_category_id"
        )
    if path is None:
        path = LegalPath()
        db.session.add(path)
    path.name, path.customer_category_id = name[:100], category_id
    db.session.flush()
    audit.record("collection.legal_path", path, f"Saved legal path {path.name}", user_id=user_id)
    return path


def add_stage(path: LegalPath, values: dict[str, Any], user_id: int | None = None) -> LegalStage:
    """A stage at the end of the path."""
    name = (values.get("name") or "").strip()
    if not name:
        raise CollectionError("Name the stage.", "name")
    fee = values.get("fee") or ZERO
    if fee < 0:
        raise CollectionError("The fee cannot be negative.", "fee")
    days = values.get("days_to_pay")
    if days is None or not 0 <= days <= 365:
        raise CollectionError("Days to pay: from 0 to 365.", "days_to_pay")
    try:
        kind = StageDocument(values.get("document") or StageDocument.NONE)
    except ValueError:
        raise CollectionError("Choose the stage's document.", "document") from None
    position = (
        db.session.scalar(
            select(func.max(LegalStage.position)).where(LegalStage.path_id == path.id)
        )
        or 0
    ) + 1
    stage = LegalStage(
        position=position,
        name=name[:100],
        document=kind,
        template=(values.get("template") or "").strip()[:5000],
        fee=fee,
        days_to_pay=days,
    )
    path.stages.append(stage)
    db.session.flush()
    audit.record(
        "collection.legal_stage",
        stage,
        f"Added stage {stage.name} to legal path {path.name}",
        user_id=user_id,
    )
    return stage


def remove_stage(stage: LegalStage, user_id: int | None = None) -> None:
    """Remove a stage no open case is at; the later stages close the gap."""
    if (
        db.session.scalar(
            select(CollectionCase.id).where(CollectionCase.legal_stage_id == stage.id).limit(1)
        )
        is not None
    ):
        raise CollectionError(f"Cases are at {stage.name}: move them first.")
    path = stage.path
    audit.record("collection.legal_stage", stage, f"Removed stage {stage.name}", user_id=user_id)
    db.session.delete(stage)
    db.session.flush()
    for offset, later in enumerate(sorted(path.stages, key=lambda s: s.position), start=1):
        later.position = 1000 + offset
    db.session.flush()
    for later in path.stages:
        later.position -= 1000
    db.session.flush()


# --- moving a case -----------------------------------------------------------------------


def set_path(
    case: CollectionCase, path: LegalPath | None, today: date, *, user_id: int | None = None
) -> None:
    """Choose another path for a case not yet on a stage."""
    if case.legal_stage_id is not None:
        raise CollectionError("The case is on a stage of its path already.", "legal_path_id")
    case.legal_path_id = path.id if path else None
    db.session.add(
        CaseEvent(
            case_id=case.id,
            kind="path",
            happened_on=today,
            user_id=user_id,
            text=f"Legal path: {path.name if path else 'none'}",
        )
    )


def move_to_stage(
    case: CollectionCase, stage: LegalStage, today: date, *, user_id: int | None = None
) -> list[CaseDocument]:
    """Move the case to a stage of its path (in order); the stage's document is generated."""
    if not case.is_open:
        raise CollectionError("The case is closed.")
    if case.legal_path_id is None or stage.path_id != case.legal_path_id:
        raise CollectionError("That stage is not on the case's legal path.", "stage_id")
    stages = stage.path.stages
    current = case.legal_stage
    try:
        rules.check_stage_move(
            [s.position for s in stages],
            current.position if current is not None else None,
            stage.position,
        )
    except rules.MoveRefused as exc:
        raise CollectionError(str(exc), "stage_id") from None
    before = current.name if current is not None else "no stage"
    case.legal_stage_id, case.legal_stage, case.stage_entered_on = stage.id, stage, today
    text = f"Stage: {before} → {stage.name}"
    db.session.add(
        CaseEvent(case_id=case.id, kind="stage", happened_on=today, user_id=user_id, text=text)
    )
    audit.record(
        "collection.stage",
        case,
        f"{case.title}: {text}",
        {"from": current.id if current else None, "to": stage.id},
        user_id=user_id,
    )
    db.session.flush()
    if stage.document == StageDocument.NONE:
        return []
    return generate_documents(case, stage, today, user_id=user_id)


# --- the claim and its documents ---------------------------------------------------------


def interest_rate() -> Decimal:
    """The reminder policy's statutory rate, else the collection settings' rate."""
    policy = db.session.scalar(select(ReminderPolicy))
    if policy is not None and policy.interest_rate and policy.interest_rate > 0:
        return policy.interest_rate
    return settings().interest_rate or ZERO


def claims_of(case: CollectionCase, today: date) -> list[claims.Claim]:
    """The case's claim per currency as of the day: its invoices still open, interest to
    date, the reminders' fees and the fees of the stages entered so far."""
    invoices = db.session.scalars(
        select(Document)
        .join(CaseInvoice, CaseInvoice.document_id == Document.id)
        .where(CaseInvoice.case_id == case.id)
        .order_by(Document.due_date, Document.id)
    ).all()
    grouped: dict[str, list[Document]] = defaultdict(list)
    for invoice in invoices:
        if invoice.open_amount > 0:
            grouped[invoice.currency].append(invoice)
    rate = interest_rate()
    stage_fees = []
    if case.legal_stage is not None:
        stage_fees = [
            s
            for s in case.legal_stage.path.stages
            if s.position <= case.legal_stage.position and s.fee > 0
        ]
    found = []
    for currency, docs in sorted(grouped.items()):
        reminder_fees = db.session.scalars(
            select(Reminder.fee).where(
                Reminder.document_id.in_([d.id for d in docs]),
                Reminder.status == ReminderStatus.SENT,
                Reminder.fee > 0,
            )
        ).all()
        fees = []
        if reminder_fees:
            fees.append(
                claims.Fee("Reminder fees", quantize_money(sum(reminder_fees, ZERO), currency))
            )
        fees += [
            claims.Fee(s.name, claims.in_currency(s.fee, currency, docs[0].exchange_rate))
            for s in stage_fees
        ]
        found.append(
            claims.build_claim(
                currency,
                today,
                rate,
                [(d.number or "", d.due_date, d.open_amount) for d in docs],
                fees,
            )
        )
    return found


def generate_documents(
    case: CollectionCase, stage: LegalStage, today: date, *, user_id: int | None = None
) -> list[CaseDocument]:
    """Render and store the stage's document, one per currency of the claim."""
    customer = case.customer
    branding = current_branding()
    made = []
    for claim in claims_of(case, today):
        letter = LegalLetter(
            kind=stage.document.value,
            language=customer.language,
            stage_name=stage.name,
            case_number=case.number,
            letter_date=today,
            days_to_pay=stage.days_to_pay,
            message=stage.template,
            seller=snapshot_seller(claim.currency),
            buyer=snapshot_buyer(customer),
            claim=claim,
            logo=branding.logo if branding is not None else None,
        )
        pdf = render_legal_letter(letter)
        document = CaseDocument(
            case_id=case.id,
            stage_id=stage.id,
            kind=stage.document,
            title=f"{stage.document.label} — {stage.name} ({claim.currency})",
            generated_on=today,
            currency=claim.currency,
            principal=claim.principal,
            interest=claim.interest,
            fees=claim.fee_total,
            total=claim.total,
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            created_by_id=user_id,
        )
        db.session.add(document)
        made.append(document)
    db.session.flush()
    for document in made:
        audit.record(
            "collection.document",
            document,
            f"{case.title}: {document.title} generated, {document.total:.2f} {document.currency}",
            user_id=user_id,
        )
    return made


def documents_of(case: CollectionCase) -> list[CaseDocument]:
    return list(
        db.session.scalars(
            select(CaseDocument)
            .where(CaseDocument.case_id == case.id)
            .order_by(CaseDocument.id.desc())
        )
    )
