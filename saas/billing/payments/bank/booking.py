"""Booking a statement's automatic matches: each a payment from the customer, settling
the matched invoices, the rest as their credit.

A few lines are booked one by one through ``payments.services.record_payment(...,
bank_line=line)``, each in a savepoint. From ``BULK_FROM`` lines on (on PostgreSQL), the
very rows ``record_payment`` would write are written set-wise, ``CHUNK`` lines at a time:
the matched invoices are locked and read again first (what another transaction settled
meanwhile is not settled twice: a share is cut to what is still open, the rest is
credit); then the plan travels as JSON (``rows.as_json``), and one INSERT ... SELECT
writes the payments, their receipts (one journal entry each, its lines from ``ledger``'s
own receipt postings), the allocations, the audit rows; one UPDATE each the invoices'
paid totals and states and the bank lines. ``reverse_payment`` undoes either kind the
same way; a test books the same statement both ways and compares every row.

A large statement's sure matches are booked after its import (``book_now=False``): its
lines are saved pending, each with its match (``sure_match_of``), and the job asked for
then (``book_statement``) books them with ``book_pending``, a part at a time, each part
committed: the import's transaction locks no invoice, and a booking cut short is
carried on where it stopped (the job retried, or the imports' sweep).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import ARRAY, Integer, any_, bindparam, select, text

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.documents.states import TransitionRefused, check_transition
from saas.billing.money import quantize_money
from saas.billing.payments import ledger, settlement
from saas.billing.payments.matching import InvoiceShare, Match
from saas.billing.payments.models import (
    BankLine,
    BankLineStatus,
    BankStatement,
    PaymentKind,
    PaymentMethod,
)
from saas.billing.payments.services import SETTLEABLE, PaymentError, record_payment
from saas.events import services as events
from saas.extensions import db
from saas.queue import enqueue, job, job_retry
from saas.rows import as_json, on_postgresql
from saas.tenants import audit, scoping
from saas.tenants.models import utcnow

BULK_FROM = 25
CHUNK = 2_000
ZERO = Decimal(0)


@dataclass(frozen=True)
class AutoBooking:
    """A bank line to book as its match says."""

    line_id: int
    booked_on: date
    amount: Decimal
    currency: str
    reference: str
    match: Match


def books_as_set(count: int, postgresql: bool | None = None) -> bool:
    """Whether that many bookings are written set-wise (their lines may be saved as
    matched already, see ``book_automatic``). ``postgresql``: whether the database is,
    when the caller knows (asked while another thread uses the session)."""
    return count >= BULK_FROM and (on_postgresql() if postgresql is None else postgresql)


def book_automatic(bookings: Sequence[AutoBooking], *, user_id: int | None = None,
                   progress: Callable[[int], None] | None = None,
                   lines_marked: bool = False, customers: set[int] | None = None) -> int:
    """Book the matches; return how many lines were booked.

    ``lines_marked``: the lines were saved matched, with the match's note and confidence,
    because ``books_as_set`` said so (one UPDATE of the lines less). ``customers``: the
    customers whose invoices a set-wise booking settles are added to it, and telling
    ``settlement``'s listeners is left to the caller (once for a statement booked in
    parts); without it they are told here.
    """
    if not books_as_set(len(bookings)):
        booked = sum(_book_one(booking, user_id) for booking in bookings)
        if progress:
            progress(len(bookings))
        return booked
    settled: set[int] = set()
    for start in range(0, len(bookings), CHUNK):
        settled |= _book_set(bookings[start:start + CHUNK], user_id, lines_marked)
        if progress:
            progress(min(start + CHUNK, len(bookings)))
    if customers is None:
        settlement.changed(settled)  # once for all chunks: the listeners read set-wise
    else:
        customers |= settled
    return len(bookings)


def reference_of(line: Any) -> str:
    """A payment's reference from its bank line (parsed, saved, or a row of one)."""
    return (line.structured_reference or line.remittance_text or line.bank_reference)[:140]


# --- booking after the import ----------------------------------------------------------


def sure_match_of(match: Match) -> dict[str, Any]:
    """A sure match as a pending line keeps it (``BankLine.sure_match``); the line keeps
    its confidence and reason itself."""
    return {"customer_id": match.customer_id, "credit": str(match.credit), "rule": match.rule,
            "shares": [[share.invoice_id, str(share.amount)] for share in match.shares]}


def pending_match(line: Any) -> Match:
    """The sure match a pending line (or a row of its columns) keeps."""
    kept = line.sure_match
    return Match(line.id, kept["customer_id"],
                 tuple(InvoiceShare(invoice_id, Decimal(amount))
                       for invoice_id, amount in kept["shares"]),
                 Decimal(kept["credit"]), int(line.confidence), kept["rule"], line.match_note)


def ask_for_booking(statement_id: int) -> None:
    """Ask for the statement's pending lines to be booked once this transaction commits."""
    enqueue(book_statement, statement_id, tenant_id=scoping.require_tenant_id(),
            job_id=f"bank-book-{statement_id}", retry=job_retry())


@job
def book_statement(statement_id: int) -> int:
    """Job: book the statement's pending lines; how many were booked."""
    return book_pending(statement_id)


def book_pending(statement_id: int) -> int:
    """Book the statement's pending lines as their matches say, ``CHUNK`` at a time, each
    part committed here; how many were booked (the pages read the progress off the
    lines' statuses).

    A part's lines are locked first, skipping those another booking holds (it books
    them): two jobs at one statement book each line once. An invoice settled meanwhile
    is settled no further; the rest of the line is the customer's credit.
    """
    statement = db.session.get(BankStatement, statement_id)
    user_id = statement.imported_by_id if statement is not None else None
    booked = 0
    while statement is not None:
        lines = db.session.execute(
            select(BankLine.id, BankLine.booked_on, BankLine.amount, BankLine.currency,
                   BankLine.structured_reference, BankLine.remittance_text,
                   BankLine.bank_reference, BankLine.confidence, BankLine.match_note,
                   BankLine.sure_match)
            .where(BankLine.statement_id == statement_id,
                   BankLine.status == BankLineStatus.PENDING)
            .order_by(BankLine.position).limit(CHUNK).with_for_update(skip_locked=True)).all()
        if not lines:
            break
        customers: set[int] = set()
        booked += book_automatic(
            [AutoBooking(line.id, line.booked_on, quantize_money(line.amount, line.currency),
                         line.currency, reference_of(line), pending_match(line))
             for line in lines],
            user_id=user_id, customers=customers)
        settlement.changed(customers)
        db.session.commit()
    return booked


# --- booking ---------------------------------------------------------------------------


def _book_one(booking: AutoBooking, user_id: int | None) -> bool:
    line = db.session.get(BankLine, booking.line_id)
    match = booking.match
    customer = db.session.get(Customer, match.customer_id)
    allocations = [(db.session.get(Document, share.invoice_id), share.amount)
                   for share in match.shares]
    try:
        with db.session.begin_nested():
            record_payment(customer, booking.amount, booking.booked_on, method=PaymentMethod.BANK,
                           currency=booking.currency, reference=booking.reference,
                           allocations=allocations, bank_line=line, user_id=user_id)
    except PaymentError as exc:  # settled meanwhile: staff decide
        line.status, line.sure_match = BankLineStatus.UNMATCHED, None
        line.match_note = f"Not booked automatically: {exc}"[:300]
        return False
    line.matched_automatically, line.confidence = True, Decimal(match.confidence)
    line.match_note, line.sure_match = match.reason[:300], None
    return True


def _book_set(bookings: Sequence[AutoBooking], user_id: int | None,
              lines_marked: bool) -> set[int]:
    """The rows record_payment writes for each booking, in three statements; the
    customers whose invoices they settle (for ``settlement.changed``)."""
    user_id = _audit_user(user_id)
    invoices = _lock_invoices({s.invoice_id for b in bookings for s in b.match.shares})
    payments, shares = [], []
    for b in bookings:
        parts = _plan(b, invoices)
        # Dates and decimals as text here: json.dumps calling back for each is slower.
        day = b.booked_on.isoformat()
        payments.append({"line": b.line_id, "customer": b.match.customer_id,
                         "day": day, "amount": str(b.amount), "currency": b.currency,
                         "reference": b.reference.strip()[:140], "note": b.match.reason[:300],
                         "confidence": b.match.confidence,
                         "allocated": str(sum((part for _, part in parts), ZERO))})
        shares += [{"line": b.line_id, "position": position, "invoice": invoice_id,
                    "amount": str(part), "day": day}
                   for position, (invoice_id, part) in enumerate(parts)]
    settled, moved = _settle(invoices, {share["invoice"] for share in shares})
    values = {"t": scoping.require_tenant_id(), "now": utcnow(), "user": user_id,
              "acting": audit.acting_tenant_id(),
              "plan": as_json(payments), "shares": as_json(shares),
              "settled": as_json(settled), "moved": as_json(moved),
              "events": as_json(_document_events(moved, invoices)), "occurred": clock.now(),
              "method": PaymentMethod.BANK.value, "method_label": PaymentMethod.BANK.label,
              "received": PaymentKind.RECEIVED.value, "matched": BankLineStatus.MATCHED.value,
              "allocated_to": f"Payment allocated to {K.INVOICE.label} "}
    for name, statement in _statements().items():
        if not (lines_marked and name == "lines"):
            db.session.execute(statement, values)
    db.session.expire_all()  # the ORM's copies of the rows written here are stale
    events.schedule_dispatch(values["t"])
    return {invoices[share["invoice"]]["customer_id"] for share in shares}


def _document_events(moved: list[dict[str, Any]], invoices: dict[int, dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """The invoices' events of a booked set, as the flush hook records them one by one
    (billing/events.py): each change of state, and each invoice paid. Their data is
    written as JSON as it is (``events.plain``'s forms: text for decimals, dates, states),
    made here directly rather than made plain value by value."""
    rows = []
    for move in moved:
        invoice = invoices[move["id"]]
        due = invoice["due_date"]
        data = {"document_id": invoice["id"], "kind": invoice["kind"].value,
                "number": invoice["number"], "customer_id": invoice["customer_id"],
                "currency": invoice["currency"],
                "gross_total": str(quantize_money(invoice["gross_total"], invoice["currency"])),
                "issue_date": invoice["issue_date"].isoformat(),
                "due_date": due.isoformat() if due is not None else None,
                "public_id": invoice["public_id"]}
        rows.append({"name": "document.status_changed", "id": invoice["id"],
                     "data": {**data, "from": move["from"].value, "to": move["to"].value}})
        if move["to"] == S.PAID:
            rows.append({"name": "document.paid", "id": invoice["id"], "data": data})
    return rows


_AUDIT = ("INSERT INTO audit_entries (tenant_id, at, user_id, acting_tenant_id, action,"
          " object_type, object_id, summary, details)")
_EVENTS = ("INSERT INTO domain_events (tenant_id, name, subject_type, subject_id, data,"
           " occurred_at, attempts)")
# The events a booked set records (checked once, as events.record_many checks its rows).
_EVENT_NAMES = {"payment.received", "document.status_changed", "document.paid"}


@cache
def _statements() -> dict[str, Any]:
    """The SQL of a booked set: the payments, their receipts (one journal entry each),
    allocations, audit and payment.received events in one statement (each INSERT in a CTE
    takes the ids the one before returned), then the invoices, the lines, and the
    invoices' audit and events. The journal lines are ``ledger``'s own receipt postings.
    The payments' events are made here, in SQL, with the data the flush hook gives them
    (billing/events.py): it needs the payments' ids, and 8,000 JSON objects made and
    written in Python cost more than the rest of the booking's Python."""
    if not _EVENT_NAMES <= events.EVENT_NAMES.keys():
        raise ValueError(f"Unknown events {sorted(_EVENT_NAMES - events.EVENT_NAMES.keys())}.")
    booked = (
        "WITH plan AS (SELECT * FROM json_to_recordset(CAST(:plan AS json)) AS p(line int,"
        " customer int, day date, amount text, currency text, reference text,"
        " allocated numeric)),"
        " pay AS (INSERT INTO payments (tenant_id, customer_id, kind, received_on, amount,"
        " currency, method, reference, note, bank_line_id, created_at, created_by_id)"
        " SELECT :t, customer, :received, day, CAST(amount AS numeric), currency, :method,"
        " reference, '', line, :now, :user FROM plan ORDER BY line"
        " RETURNING id, bank_line_id, customer_id, amount, currency, received_on),"
        " pay_entry AS (INSERT INTO journal_entries (tenant_id, posted_on, kind, description,"
        " currency, payment_id, created_at) SELECT :t, pay.received_on, :received,"
        " left('Payment from ' || c.name, 300), pay.currency, pay.id, :now FROM pay"
        " JOIN customers AS c ON c.id = pay.customer_id ORDER BY pay.id"
        " RETURNING id, payment_id),"
        f" pay_lines AS ({_receipt_lines()} RETURNING 1),"
        " share AS (SELECT * FROM json_to_recordset(CAST(:shares AS json)) AS s(line int,"
        " position int, invoice int, amount numeric, day date)),"
        " alloc AS (INSERT INTO allocations (tenant_id, invoice_id, payment_id, amount,"
        " allocated_on, created_at, created_by_id) SELECT :t, share.invoice, pay.id,"
        " share.amount, share.day, :now, :user FROM share JOIN pay ON pay.bank_line_id ="
        " share.line ORDER BY pay.id, share.position RETURNING 1),"
        f" audit AS ({_AUDIT} SELECT :t, :now, :user, :acting, 'payments.recorded',"
        " 'Payment', CAST(pay.id AS text), left('Payment of ' || plan.amount || ' ' ||"
        " plan.currency || ' from ' || c.name || ' (' || :method_label || ')', 500), '{}'"
        " FROM pay JOIN plan ON plan.line = pay.bank_line_id JOIN customers AS c"
        " ON c.id = pay.customer_id ORDER BY pay.id RETURNING 1),"
        f" received AS ({_EVENTS} SELECT :t, 'payment.received', 'payment', pay.id,"
        " json_build_object('payment_id', pay.id, 'customer_id', pay.customer_id, 'amount',"
        " plan.amount, 'currency', plan.currency, 'method', :method, 'received_on', plan.day,"
        " 'reference', plan.reference), :occurred, 0 FROM pay JOIN plan"
        " ON plan.line = pay.bank_line_id ORDER BY pay.id RETURNING 1)"
        " SELECT (SELECT count(*) FROM pay_lines), (SELECT count(*) FROM alloc),"
        " (SELECT count(*) FROM audit), (SELECT count(*) FROM received)")
    return {name: text(sql) for name, sql in (
        ("booked", booked),
        ("invoices", "UPDATE documents AS d SET paid_total = x.paid, status = x.status FROM"
         " json_to_recordset(CAST(:settled AS json)) AS x(id int, paid numeric, status text)"
         " WHERE d.id = x.id AND d.tenant_id = :t"),
        ("lines", "UPDATE bank_lines AS b SET status = :matched, matched_automatically ="
         " true, match_note = p.note, confidence = p.confidence, sure_match = NULL FROM"
         " json_to_recordset(CAST(:plan AS json)) AS p(line int, note text, confidence"
         " numeric) WHERE b.id = p.line AND b.tenant_id = :t"),
        ("moved", f"WITH moved AS ({_AUDIT} SELECT :t, :now, :user, :acting,"
         " 'documents.status', 'Document', CAST(m.id AS text), m.summary, '{}' FROM"
         " json_to_recordset(CAST(:moved AS json)) AS m(id int, summary text) ORDER BY m.id"
         f" RETURNING 1) {_EVENTS} SELECT :t, e.name, 'document', e.id, e.data, :occurred, 0"
         " FROM json_to_recordset(CAST(:events AS json)) AS e(name text, id int, data json)"),
    )}


def _receipt_lines() -> str:
    """The journal lines of each receipt (``pay_entry``), as ``ledger.receipt_postings``
    says: its pattern is read from the postings of a receipt of 3 settling 1, each amount
    standing for the payment's amount (3), what it settles (1) or the rest (2). A line of
    0 is not written (nothing settled: the payment's postings; all settled: no credit)."""
    amounts = {Decimal(3): "pay.amount", Decimal(1): "plan.allocated",
               Decimal(2): "pay.amount - plan.allocated"}
    postings = ledger.receipt_postings(PaymentMethod.BANK, -1, Decimal(3), Decimal(1))
    rows = []
    for position, posting in enumerate(postings):
        if posting.vat_code or posting.customer_id not in (None, -1):
            raise ValueError(f"not a receipt's posting: {posting}")
        rows.append(f"({position}, '{posting.account}', {bool(posting.debit)},"
                    f" {posting.customer_id == -1},"
                    f" {amounts[posting.debit or posting.credit]})")
    # Rows written by this statement are seen through the CTEs' RETURNING, not the tables.
    return ("INSERT INTO journal_lines (tenant_id, entry_id, account, customer_id, debit,"
            " credit, vat_code) SELECT :t, pay_entry.id, k.account, CASE WHEN k.customer"
            " THEN pay.customer_id END, CASE WHEN k.debit THEN k.amount ELSE 0 END,"
            " CASE WHEN k.debit THEN 0 ELSE k.amount END, '' FROM pay_entry"
            " JOIN pay ON pay.id = pay_entry.payment_id JOIN plan ON plan.line ="
            " pay.bank_line_id CROSS JOIN LATERAL (VALUES"
            f" {', '.join(rows)}) AS k(position, account, debit, customer, amount)"
            " WHERE k.amount <> 0 ORDER BY pay_entry.id, k.position")


def _audit_user(user_id: int | None) -> int | None:
    if user_id is None and has_request_context() and current_user.is_authenticated:
        return current_user.id
    return user_id


def _lock_invoices(ids: set[int]) -> dict[int, dict[str, Any]]:
    """The invoices, locked until the commit, as they are now."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(Document.id, Document.kind, Document.status, Document.number,
               Document.customer_id, Document.currency, Document.gross_total,
               Document.paid_total, Document.public_id, Document.issue_date,
               Document.due_date)
        .where(Document.id == any_(bindparam("ids", sorted(ids), type_=ARRAY(Integer))))
        .order_by(Document.id).with_for_update()).all()
    return {row.id: {**row._asdict(), "paid": row.paid_total or ZERO} for row in rows}


def _plan(booking: AutoBooking, invoices: dict[int, dict[str, Any]]) -> list[tuple[int, Decimal]]:
    """The shares still possible: each cut to what the invoice has open now."""
    plan = []
    for share in booking.match.shares:
        invoice = invoices.get(share.invoice_id)
        if (invoice is None or invoice["kind"] != K.INVOICE
                or invoice["status"] not in SETTLEABLE
                or invoice["customer_id"] != booking.match.customer_id
                or invoice["currency"] != booking.currency):
            continue
        part = min(share.amount, invoice["gross_total"] - invoice["paid"])
        if part > 0:
            invoice["paid"] += part
            plan.append((share.invoice_id, part))
    return plan


def _settle(invoices: dict[int, dict[str, Any]], touched: set[int]
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The touched invoices' new paid totals and states, and each change of state."""
    settled, moved = [], []
    for invoice_id in sorted(touched):
        invoice = invoices[invoice_id]
        status = invoice["status"]
        target = (S.PAID if invoice["paid"] >= invoice["gross_total"]
                  else S.PARTLY_PAID if invoice["paid"] > 0 else S.ISSUED)
        if status != S.CREDITED and target != status:
            try:
                check_transition(K.INVOICE, status, target)
                moved.append({"id": invoice_id, "from": status, "to": target, "summary":
                              f"{K.INVOICE.label} {invoice['number']}:"
                              f" {status.label.lower()} → {target.label.lower()}"})
                status = target
            except TransitionRefused:
                pass
        settled.append({"id": invoice_id, "paid": str(invoice["paid"]), "status": status.value})
    return settled, moved
