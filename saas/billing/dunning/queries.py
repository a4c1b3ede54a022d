"""What collection reads: overdue amounts, balances, notes and promises, collectors' work.

"Overdue" is what is open on a customer's issued invoices whose due date has passed
(before today). Amounts in the tenant's currency are converted at each invoice's recorded
rate (``documents.exchange_rate``), so one threshold and one report cover every currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from saas.billing.customers.models import Customer
from saas.billing.documents.issuing import customer_balance
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.dunning import rules
from saas.billing.dunning.models import CaseStatus, CollectionCase, ContactNote
from saas.billing.money import quantize_money
from saas.billing.payments.accounts import statement_currencies
from saas.billing.payments.models import Payment, PaymentKind
from saas.extensions import db
from saas.tenants.models import Membership, Role

ZERO = Decimal(0)
OPEN = (S.ISSUED, S.PARTLY_PAID)
# Who may hold cases: collectors, and any staff who works with customers.
COLLECTOR_ROLES = (Role.COLLECTOR, Role.STAFF, Role.ACCOUNTANT, Role.ADMIN, Role.OWNER)


def overdue_condition(today: date) -> tuple:
    return (
        Document.kind == K.INVOICE,
        Document.status.in_(OPEN),
        Document.due_date < today,
        Document.gross_total > Document.paid_total,
    )


def overdue_invoices(customer_id: int, today: date) -> list[Document]:
    """The customer's overdue invoices, oldest due first."""
    return list(
        db.session.scalars(
            select(Document)
            .where(Document.customer_id == customer_id, *overdue_condition(today))
            .order_by(Document.due_date, Document.id)
        )
    )


def overdue_by_currency(customer_id: int, today: date) -> dict[str, Decimal]:
    rows = db.session.execute(
        select(Document.currency, func.sum(Document.gross_total - Document.paid_total))
        .where(Document.customer_id == customer_id, *overdue_condition(today))
        .group_by(Document.currency)
    ).all()
    return {currency: Decimal(amount) for currency, amount in rows}


def overdue_in_tenant_currency(
    customer_ids: list[int] | None, today: date, *extra: object
) -> dict[int, Decimal]:
    """Per customer, the overdue amount in the tenant's currency (at the invoices' rates)."""
    statement = (
        select(
            Document.customer_id,
            func.sum((Document.gross_total - Document.paid_total) * Document.exchange_rate),
        )
        .where(*overdue_condition(today), *extra)
        .group_by(Document.customer_id)
    )
    if customer_ids is not None:
        statement = statement.where(Document.customer_id.in_(customer_ids))
    return {customer_id: Decimal(amount) for customer_id, amount in db.session.execute(statement)}


def account_snapshot(customer: Customer, today: date) -> dict[str, list[str]]:
    """The customer's balance and overdue amount per currency, their own currency first,
    for a note: {"NOK": ["1200.00", "800.00"]}."""
    overdue = overdue_by_currency(customer.id, today)
    currencies = list(dict.fromkeys([*statement_currencies(customer), *sorted(overdue)]))
    return {
        code: [
            f"{quantize_money(customer_balance(customer.id, code), code):f}",
            f"{quantize_money(overdue.get(code, ZERO), code):f}",
        ]
        for code in currencies
    }


def paid_since(customer_id: int, currency: str, since: date) -> Decimal:
    """Money the customer paid (received, not reversed) in the currency from the day on."""
    return Decimal(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.customer_id == customer_id,
                Payment.currency == currency,
                Payment.kind == PaymentKind.RECEIVED,
                Payment.reversed_at.is_(None),
                Payment.received_on >= since,
            )
        )
    )


def notes_of(case: CollectionCase) -> list[ContactNote]:
    return list(
        db.session.scalars(
            select(ContactNote)
            .options(joinedload(ContactNote.user))
            .where(ContactNote.case_id == case.id)
            .order_by(ContactNote.contacted_at.desc(), ContactNote.id.desc())
        )
    )


def latest_note(case_id: int) -> ContactNote | None:
    return db.session.scalar(
        select(ContactNote)
        .where(ContactNote.case_id == case_id)
        .order_by(ContactNote.contacted_at.desc(), ContactNote.id.desc())
        .limit(1)
    )


def promise_of(note: ContactNote | None, today: date) -> rules.PromiseState | None:
    """The state of the note's promise to pay, if it made one."""
    if note is None or note.promise_amount is None or note.promise_on is None:
        return None
    paid = paid_since(note.customer_id, note.currency, note.contacted_at.date())
    return rules.promise_state(note.promise_amount, note.promise_on, paid, today)


@dataclass(frozen=True)
class WorkItem:
    case: CollectionCase
    todo: rules.Todo
    note: ContactNote | None


def work_list(
    today: date, collector_id: int | None = None, *, unassigned: bool = False
) -> list[WorkItem]:
    """The to-dos of the open cases of a collector (or unassigned ones), most late first."""
    statement = (
        select(CollectionCase)
        .options(joinedload(CollectionCase.customer))
        .where(CollectionCase.status == CaseStatus.OPEN)
    )
    if unassigned:
        statement = statement.where(CollectionCase.collector_id.is_(None))
    elif collector_id is not None:
        statement = statement.where(CollectionCase.collector_id == collector_id)
    items = []
    for case in db.session.scalars(statement):
        note = latest_note(case.id)
        promise = promise_of(note, today)
        for todo in rules.todos_of_case(
            case.next_contact_on, promise, note.promise_on if note else None, today
        ):
            items.append(WorkItem(case, todo, note))
    return sorted(items, key=lambda item: (-item.todo.days_late, item.case.number))


def cases_with_todos(today: date) -> Select:
    """The open cases with a to-do today, set-wise (``work_list`` for counting many cases):
    the next contact is due, or the latest note's promise is broken (``rules``)."""
    note = aliased(ContactNote)
    latest = (
        select(ContactNote.id)
        .where(ContactNote.case_id == CollectionCase.id)
        .order_by(ContactNote.contacted_at.desc(), ContactNote.id.desc())
        .limit(1)
        .correlate(CollectionCase)  # the case of the outermost query, two levels up
        .scalar_subquery()
    )
    paid_since_note = (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(
            Payment.customer_id == note.customer_id,
            Payment.currency == note.currency,
            Payment.kind == PaymentKind.RECEIVED,
            Payment.reversed_at.is_(None),
            Payment.received_on >= func.date(note.contacted_at),
        )
        .scalar_subquery()
    )
    broken_promise = exists().where(
        note.id == latest,
        note.promise_amount.is_not(None),
        note.promise_on < today,
        paid_since_note < note.promise_amount,
    )
    return select(CollectionCase.id).where(
        CollectionCase.status == CaseStatus.OPEN,
        or_(CollectionCase.next_contact_on <= today, broken_promise),
    )


def open_case_of(customer_id: int) -> CollectionCase | None:
    return db.session.scalar(
        select(CollectionCase).where(
            CollectionCase.customer_id == customer_id, CollectionCase.status == CaseStatus.OPEN
        )
    )


def collectors() -> list[Membership]:
    """The members who may hold cases, by name."""
    return list(
        db.session.scalars(
            select(Membership)
            .options(joinedload(Membership.user))
            .where(Membership.role.in_(COLLECTOR_ROLES))
        ).unique()
    )


def open_case_counts() -> dict[int | None, int]:
    return dict(
        db.session.execute(
            select(CollectionCase.collector_id, func.count())
            .where(CollectionCase.status == CaseStatus.OPEN)
            .group_by(CollectionCase.collector_id)
        ).all()
    )


def case_overdue(cases: list[CollectionCase], today: date) -> dict[int, Decimal]:
    """Each case's customer's overdue amount in the tenant's currency."""
    amounts = (
        overdue_in_tenant_currency([case.customer_id for case in cases], today) if cases else {}
    )
    return {case.id: amounts.get(case.customer_id, ZERO) for case in cases}
