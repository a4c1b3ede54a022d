"""Bank statements: import a file whole or not at all, match, book; what staff do with a line.

Nothing here commits: the view, job or command does, once. A file is refused, with
nothing saved, when it cannot be read, when it was imported before (the same bytes, or
a statement of the same account with the same identification), when it is another
account's, or when an amount has more decimals than its currency. A large statement's
sure matches are booked after its import (``book_now=False``): saved with its lines,
pending, they are booked by a job (``booking.book_pending``), a part at a time.
"""

from __future__ import annotations

import contextvars
import gc
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import BigInteger, Select, String, and_, literal_column, or_, select

from saas.billing.customers.models import Customer
from saas.billing.documents.models import AMOUNT_UNITS, Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.money import minor_unit_exponent, quantize_money
from saas.billing.payments import matching, settlement, statements
from saas.billing.payments.bank.booking import (
    CHUNK,
    AutoBooking,
    ask_for_booking,
    book_automatic,
    books_as_set,
    reference_of,
    sure_match_of,
)
from saas.billing.payments.matching import BankCredit, Match, OpenInvoice
from saas.billing.payments.models import (
    BankCsvMapping,
    BankLine,
    BankLineStatus,
    BankStatement,
    Payment,
    PaymentMethod,
    StatementFormat,
)
from saas.billing.payments.services import PaymentError, record_payment, reverse_payment
from saas.billing.payments.statements import CsvLayout, ParsedStatement, StatementParseError
from saas.extensions import db
from saas.rows import (
    PreparedInsert,
    insert_rows,
    new_ids,
    on_postgresql,
    one_of,
    prepare_insert,
)
from saas.tenants import audit
from saas.tenants.models import BankAccount
from saas.tenants.services import ServiceError

# Lines matched, then saved and booked, at a time (see _match_and_book): booking's own
# chunk, so that a part is booked in one go.
PART = CHUNK

# An open invoice, as documents.models.OPEN_INVOICES_SQL has it for the reminders.
OPEN_STATUSES = (S.ISSUED, S.PARTLY_PAID)


class BankImportError(ServiceError):
    """A statement file refused: what is wrong, and where."""


@dataclass(frozen=True)
class ImportResult:
    statement_id: int
    lines: int
    booked: int
    waiting: int
    ignored: int
    warnings: tuple[str, ...] = ()
    pending: int = 0  # sure matches to book after the import (book_now=False)

    @property
    def summary(self) -> str:
        booked = (f"{self.pending} matched surely, booked after the import" if self.pending
                  else f"{self.booked} booked automatically")
        return (f"Imported {self.lines} line{'s' if self.lines != 1 else ''}: {booked},"
                f" {self.waiting} waiting in the matching queue, {self.ignored} money out or"
                " zero (ignored).")


# --- reading ---------------------------------------------------------------------------


def csv_layout(account: BankAccount) -> CsvLayout | None:
    """The account's saved CSV mapping as a layout; None when there is none."""
    mapping = db.session.scalar(select(BankCsvMapping).where(
        BankCsvMapping.bank_account_id == account.id))
    if mapping is None:
        return None
    return CsvLayout(columns=dict(mapping.columns or {}), delimiter=mapping.delimiter,
                     decimal_comma=mapping.decimal_comma, date_format=mapping.date_format,
                     encoding=mapping.encoding, header_rows=mapping.header_rows,
                     account=account.iban or account.bban, currency=account.currency)


def read_statement(data: bytes, account: BankAccount,
                   fmt: str | None = None) -> tuple[str, list[ParsedStatement]]:
    """The file's format and statements, read for the account (CSV by its mapping)."""
    fmt = fmt or statements.detect_format(data) or "csv"
    layout = csv_layout(account) if fmt == "csv" else None
    if fmt == "csv" and layout is None:
        raise BankImportError(
            "The file is not camt.053 or MT940, and a CSV file needs the account's column"
            f" mapping: save one for {account.label or account.iban or account.bban} first.")
    try:
        return fmt, statements.parse(data, fmt, layout)  # type: ignore[arg-type]
    except StatementParseError as exc:
        raise BankImportError(str(exc)) from None


def same_account(in_file: str, account: BankAccount) -> bool:
    def plain(value: str) -> str:
        return "".join(c for c in (value or "").upper() if c.isalnum())

    def digits(value: str) -> str:
        return "".join(c for c in value or "" if c.isdigit())

    wanted = {plain(account.iban), plain(account.bban)} - {""}
    if plain(in_file) in wanted:
        return True
    # A domestic number in the file (517852257) that ends the account's IBAN or BBAN.
    return bool(digits(in_file)) and not plain(in_file)[:2].isalpha() and any(
        digits(value).endswith(digits(in_file)) for value in wanted)


def _describe(statement: BankStatement) -> str:
    ref = f" (statement {statement.statement_ref})" if statement.statement_ref else ""
    return (f"{statement.file_name or 'a file'}{ref}, imported on"
            f" {statement.imported_at:%Y-%m-%d %H:%M} as statement #{statement.id}")


def _check(parsed: list[ParsedStatement], account: BankAccount, sha: str) -> str:
    """Refuse what may not be imported; the account's identification in the file."""
    earlier = db.session.scalar(select(BankStatement).where(BankStatement.file_sha256 == sha))
    if earlier is not None:
        raise BankImportError(f"This file was imported before: {_describe(earlier)}.")
    accounts = {statement.account for statement in parsed}
    if len(accounts) > 1:
        raise BankImportError(f"The file holds statements of {len(accounts)} accounts"
                              f" ({', '.join(sorted(accounts))}): import one account's at a"
                              " time.")
    in_file = accounts.pop()
    if not same_account(in_file, account):
        raise BankImportError(f"The file is a statement of account {in_file}, not of"
                              f" {account.iban or account.bban} ({account.label or 'chosen'}).")
    refs = {statement.statement_ref for statement in parsed if statement.statement_ref}
    if refs:
        for earlier in db.session.scalars(select(BankStatement).where(
                BankStatement.account == in_file[:40], BankStatement.statement_ref != "")):
            if refs & set(_split_refs(earlier.statement_ref)):
                raise BankImportError(
                    f"Statement {sorted(refs & set(_split_refs(earlier.statement_ref)))[0]}"
                    f" of {in_file} was imported before: {_describe(earlier)}.")
    for statement in parsed:
        for line in statement.lines:
            where = f"Line {line.source_line}: " if line.source_line else ""
            try:
                places = minor_unit_exponent(line.currency)
            except ValueError:
                raise BankImportError(f"{where}{line.currency!r} is not a currency.") from None
            if quantize_money(line.amount, line.currency) != line.amount:
                raise BankImportError(f"{where}the amount {line.amount} has more decimals than"
                                      f" {line.currency} has ({places}).")
    return in_file


REF_SEPARATOR, REF_ELLIPSIS = ", ", " … "


def _joined_refs(refs: list[str]) -> str:
    """The statements' identifications in 200 characters: all, or the first and last."""
    joined = REF_SEPARATOR.join(refs)
    if len(joined) <= 200:
        return joined
    return f"{refs[0][:90]}{REF_ELLIPSIS}{refs[-1][:90]}"[:200]


def _split_refs(stored: str) -> list[str]:
    return [part for chunk in stored.split(REF_ELLIPSIS) for part in chunk.split(REF_SEPARATOR)
            if part]


# --- importing -------------------------------------------------------------------------


def import_statement(data: bytes, file_name: str, account: BankAccount,
                     fmt: str | None = None, *, user_id: int | None = None,
                     progress: Callable[[int], None] | None = None,
                     book_now: bool = True) -> ImportResult:
    """Import a statement file for the account, match its lines and book the sure ones.

    The statement and all its lines, or nothing (BankImportError): the caller commits.
    ``progress`` is told how many lines are done, now and then. ``book_now=False`` (a
    large file's job): the sure matches are saved pending, with their match, and booked
    after the import commits, by the job asked for here (``booking.book_statement``), in
    parts of their own: the import's transaction holds no invoice, and a booking cut
    short is taken up again (the job is retried; the imports' sweep finds what is left).
    """
    fmt, parsed = read_statement(data, account, fmt)
    sha = hashlib.sha256(data).hexdigest()
    in_file = _check(parsed, account, sha)
    lines = [line for statement in parsed for line in statement.lines]
    refs = [statement.statement_ref for statement in parsed if statement.statement_ref]
    statement = BankStatement(
        bank_account_id=account.id, format=StatementFormat(fmt), file_name=file_name[:255],
        file_sha256=sha, statement_ref=_joined_refs(refs), account=in_file[:40],
        currency=parsed[0].currency or account.currency,
        opening_balance=parsed[0].opening_balance, closing_balance=parsed[-1].closing_balance,
        from_date=min((s.from_date for s in parsed if s.from_date), default=None),
        to_date=max((s.to_date for s in parsed if s.to_date), default=None),
        line_count=len(lines), imported_by_id=user_id)
    db.session.add(statement)
    db.session.flush()
    with _collector_paused():
        return _match_and_book(statement, parsed, lines, file_name, user_id, progress,
                               book_now)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector off, as it was after.

    Matching and booking a statement make hundreds of thousands of short-lived objects
    that hold no cycles (lines, matches, rows, JSON): reference counting frees them, yet
    their number alone sets the collector off hundreds of times, twice over the whole
    heap — a fifth of the import's time in Python. Cycles made meanwhile are collected
    when it is back on.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _match_and_book(statement: BankStatement, parsed: list[ParsedStatement],
                    lines: list[statements.ParsedLine], file_name: str, user_id: int | None,
                    progress: Callable[[int], None] | None, book_now: bool) -> ImportResult:
    """Match the statement's lines, save them, book the sure ones (``import_statement``).

    A part of ``PART`` lines at a time, in their order: on PostgreSQL the database saves
    and books a part on a thread of its own while Python matches the next (the driver
    lets go of the interpreter while it waits), so the two overlap. Only that thread
    uses the session meanwhile: this one touches no ORM object until it is done.
    """
    statement_id = statement.id
    credits = credits_of(lines)
    matcher = matcher_for(credits)
    customers: set[int] = set()
    booked = to_book = 0
    postgresql = on_postgresql()
    # On PostgreSQL, the lines' ids are taken at once, before the thread starts: a part's
    # rows (and their JSON) are then made on this thread, the thread only writes them.
    line_ids = new_ids(BankLine.__tablename__, len(lines)) if postgresql else None
    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-import")
          if postgresql else nullcontext()) as pool:
        pending: Future[int] | None = None
        for start in range(0, len(lines), PART):
            part = range(start + 1, min(start + PART, len(lines)) + 1)
            matches = match_credits([c for c in credits if c.key in part], matcher)
            if not book_now:
                to_book += sum(1 for match in matches.values() if match.automatic)
            work = _part_work(statement_id, lines, part, matches, user_id, customers,
                              line_ids, postgresql, book_now)
            if pending is not None:
                booked += pending.result()
                if progress:
                    progress(part.start - 1)
            if pool is None:
                booked += work()
            else:  # the thread sees this one's tenant, app and session (context variables)
                pending = pool.submit(contextvars.copy_context().run, work)
        if pending is not None:
            booked += pending.result()
    # Once for the statement: the listeners look the customers up set-wise.
    settlement.changed(customers)
    if progress:
        progress(len(lines))
    result = ImportResult(statement_id, len(lines), booked,
                          waiting=sum(1 for line in lines if line.amount > 0) - booked - to_book,
                          ignored=sum(1 for line in lines if line.amount <= 0),
                          warnings=tuple(w for s in parsed for w in s.warnings),
                          pending=to_book)
    if to_book:
        ask_for_booking(statement_id)
    audit.record("bank.statement_imported", statement,
                 f"Bank statement {file_name} imported: {result.summary}", user_id=user_id)
    return result


def _part_work(statement_id: int, lines: list[statements.ParsedLine], part: range,
               matches: dict[int, Match], user_id: int | None, customers: set[int],
               line_ids: list[int] | None, postgresql: bool,
               book_now: bool) -> Callable[[], int]:
    """Saving a part of the statement's lines and booking its sure matches (or saving
    them pending, ``book_now=False``), to run (on the import's thread, on PostgreSQL);
    it returns how many lines it booked.

    The rows are made here, without the database, when the lines' ids are known already
    (``line_ids``, on PostgreSQL): that Python is done while the thread writes the part
    before, not between that part's statements and this one's.
    """
    sure = {position: match for position, match in matches.items() if match.automatic}
    # Booked set-wise, the lines are saved matched at once (booking.book_automatic);
    # booked one by one, waiting (booking marks each); booked after, pending.
    marked = books_as_set(len(sure), postgresql)
    saved_as = (BankLineStatus.PENDING if not book_now else BankLineStatus.MATCHED if marked
                else BankLineStatus.UNMATCHED)
    rows = [_line_row(statement_id, position, lines[position - 1], matches.get(position),
                      saved_as) for position in part]
    if not book_now:
        sure = {}
    if line_ids is None:
        return partial(_save_and_book, lines, part, sure, user_id, customers, marked, rows)
    ids = line_ids[part.start - 1:part.stop - 1]
    return partial(_save_and_book, lines, part, sure, user_id, customers, marked,
                   prepare_insert(BankLine, rows, ids))


def _save_and_book(lines: list[statements.ParsedLine], part: range, sure: dict[int, Match],
                   user_id: int | None, customers: set[int], marked: bool,
                   rows: list[dict[str, Any]] | PreparedInsert) -> int:
    """Save a part of the statement's lines and book its sure matches; how many booked."""
    line_ids = save_lines(rows)
    return book_automatic(
        [AutoBooking(line_ids[position - part.start], lines[position - 1].booked_on,
                     lines[position - 1].amount, lines[position - 1].currency,
                     reference_of(lines[position - 1]), match)
         for position, match in sure.items()],
        user_id=user_id, lines_marked=marked, customers=customers)


def save_lines(rows: list[dict[str, Any]] | PreparedInsert) -> list[int]:
    """Insert a part of the statement's lines (rows, or their INSERT made ready); their
    ids, in order."""
    return rows.execute() if isinstance(rows, PreparedInsert) else insert_rows(BankLine, rows)


def _line_row(statement_id: int, position: int, line: statements.ParsedLine,
              found: Match | None, saved_as: BankLineStatus) -> dict[str, Any]:
    """A bank line to save: money out ignored, a suggestion noted, a sure match saved as
    ``saved_as`` says: matched (booked set-wise), pending with its match (booked after
    the import), or waiting (booked one by one, which marks it)."""
    row: dict[str, Any] = {
        "statement_id": statement_id, "position": position, "booked_on": line.booked_on,
        "value_date": line.value_date, "amount": line.amount, "currency": line.currency,
        "counterparty_name": line.counterparty_name[:200],
        "counterparty_account": line.counterparty_account[:40],
        "structured_reference": line.structured_reference[:40],
        "remittance_text": line.remittance_text, "bank_reference": line.bank_reference[:100],
        "status": BankLineStatus.UNMATCHED, "confidence": None,
        "matched_automatically": False, "match_note": "", "sure_match": None}
    if line.amount <= 0:
        row["status"] = BankLineStatus.IGNORED
        row["match_note"] = ("Money out: not a customer's payment." if line.amount < 0
                             else "Zero amount.")
    elif found is not None and not found.automatic:
        row["confidence"] = Decimal(found.confidence)
        row["match_note"] = f"Suggested: {found.reason}"[:300]
    elif found is not None and saved_as == BankLineStatus.MATCHED:
        row.update(status=saved_as, matched_automatically=True,
                   confidence=Decimal(found.confidence), match_note=found.reason[:300])
    elif found is not None and saved_as == BankLineStatus.PENDING:
        row.update(status=saved_as, confidence=Decimal(found.confidence),
                   match_note=found.reason[:300], sure_match=sure_match_of(found))
    return row


# --- matching --------------------------------------------------------------------------


def match_credits(credits: Sequence[BankCredit],
                  matcher: matching.Matcher | None = None) -> dict[int, Match]:
    """Match lines of money in against the open invoices; answers by line key.

    ``matcher``: one made for these lines and more (``matcher_for``), matching them in
    parts; each line taken automatically lowers what the lines after it see open.
    """
    if not credits:
        return {}
    matcher = matcher or matcher_for(credits)
    answers = {}
    for credit in credits:
        found = matcher.match(credit)
        if found is not None:
            answers[credit.key] = found
    return answers


def matcher_for(credits: Sequence[BankCredit]) -> matching.Matcher:
    """The open invoices the lines could pay and the known accounts, indexed."""
    references = {credit.key: matching.references_in(credit) for credit in credits}
    invoices, accounts = load_candidates(credits, references)
    return matching.Matcher(invoices, accounts, references)


def credits_of(lines: Sequence[statements.ParsedLine]) -> list[BankCredit]:
    """A statement's lines of money in as matching takes them, keyed by position (from 1)."""
    return [BankCredit(position, line.amount, line.currency, line.counterparty_name,
                       line.counterparty_account, line.structured_reference,
                       line.remittance_text)
            for position, line in enumerate(lines, start=1) if line.amount > 0]


def load_candidates(credits: Sequence[BankCredit],
                    references_by_line: dict[int, list[str]] | None = None,
                    ) -> tuple[list[OpenInvoice], dict[str, set[int]]]:
    """The open invoices the lines could pay (by reference, number or amount), in a
    query, and the customers known by the lines' counterparty accounts."""
    rows = db.session.execute(candidates_query_for(credits, references_by_line)).all()
    invoices = [OpenInvoice(id=row[0], number=row[1] or "", customer_id=row[2],
                            customer_name=row[3], open_amount=row[4], currency=row[5],
                            payment_reference=row[6] or "", due_date=row[7]) for row in rows]
    return invoices, known_accounts(credit.counterparty_account for credit in credits)


def candidates_query_for(credits: Sequence[BankCredit],
                         references_by_line: dict[int, list[str]] | None = None) -> Select:
    """``candidates_query`` for what the lines carry: their references, the invoice
    numbers their texts may hold, their amounts."""
    by_line = references_by_line or {c.key: matching.references_in(c) for c in credits}
    references = {ref for found in by_line.values() for ref in found}
    numbers: set[str] = set()
    for credit in credits:
        numbers |= matching.number_candidates(
            f"{credit.structured_reference} {credit.remittance_text}")
    units = {int(credit.amount * AMOUNT_UNITS) for credit in credits}
    return candidates_query(references, numbers, units)


def _inline(value: str) -> Any:
    return literal_column(f"'{value}'")


def candidates_query(references: set[str], numbers: set[str], units: set[int]) -> Select:
    """Open invoices by payment reference, by number (in lower case) or by what is open
    of them (in ``AMOUNT_UNITS``), with their customer's name.

    Each condition one an index answers (documents.models.OPEN_INVOICE_KEYS): a look-up
    per value, not a pass over every document. The indexes' own conditions are written
    with their values in the SQL, not as parameters, so the planner always sees they hold.
    """
    return (select(Document.id, Document.number, Document.customer_id, Customer.name,
                   Document.gross_total - Document.paid_total, Document.currency,
                   Document.payment_reference, Document.due_date)
            .join(Customer, Customer.id == Document.customer_id)
            .where(Document.kind == _inline(K.INVOICE.value),
                   Document.status.in_([_inline(status.value) for status in OPEN_STATUSES]),
                   or_(and_(Document.payment_reference != _inline(""),
                            one_of(Document.payment_reference, references, String)),
                       one_of(Document.number_key, numbers, String),
                       one_of(Document.open_units, units, BigInteger))))


def known_accounts(accounts: Iterable[str]) -> dict[str, set[int]]:
    """Counterparty accounts of earlier lines booked to a customer: account → customers."""
    wanted = {matching.compact_reference(a) for a in accounts if a}
    if not wanted:
        return {}
    found: dict[str, set[int]] = {}
    for account, customer_id in db.session.execute(known_accounts_query(wanted)).all():
        found.setdefault(account, set()).add(customer_id)
    return found


def known_accounts_query(wanted: set[str]) -> Select:
    """The customers of live payments booked from lines of these accounts."""
    return (select(BankLine.counterparty_account, Payment.customer_id)
            .join(Payment, Payment.bank_line_id == BankLine.id)
            .where(BankLine.counterparty_account != _inline(""),  # the index's condition
                   one_of(BankLine.counterparty_account, wanted, String),
                   Payment.reversed_at.is_(None)).distinct())


def credit_of(line: BankLine) -> BankCredit:
    return BankCredit(line.id, line.amount, line.currency, line.counterparty_name,
                      line.counterparty_account, line.structured_reference,
                      line.remittance_text)


def suggestions(lines: Sequence[BankLine]) -> dict[int, Match]:
    """What matching says now of lines waiting for staff, by line id."""
    return match_credits([credit_of(line) for line in lines
                          if line.status == BankLineStatus.UNMATCHED and line.amount > 0])


# --- what staff do with a line ---------------------------------------------------------


def payment_of(line: BankLine) -> Payment | None:
    """The live payment booked from the line, if any."""
    return db.session.scalar(select(Payment).where(Payment.bank_line_id == line.id,
                                                   Payment.reversed_at.is_(None)))


def _not_waiting(line: BankLine) -> BankImportError:
    if line.status == BankLineStatus.PENDING:
        return BankImportError(f"Line {line.position} is being booked automatically, as"
                               " matched; it can be undone once booked.")
    return BankImportError(f"Line {line.position} is {line.status.value}, not waiting.")


def _waiting(line: BankLine) -> None:
    if line.status != BankLineStatus.UNMATCHED:
        raise _not_waiting(line)
    if line.amount <= 0:
        raise BankImportError("Only money in can be booked as a customer's payment.")


def book_by_hand(line: BankLine, customer: Customer,
                 shares: Sequence[tuple[Document, Decimal]], *,
                 user_id: int | None = None) -> Payment:
    """Book the line as the customer's payment: the shares settle invoices, the rest is
    their credit (no shares: all of it)."""
    _waiting(line)
    shares = [(invoice, amount) for invoice, amount in shares if amount]
    payment = record_payment(customer, line.amount, line.booked_on, method=PaymentMethod.BANK,
                             currency=line.currency, reference=reference_of(line),
                             allocations=shares, bank_line=line, user_id=user_id)
    line.matched_automatically, line.confidence = False, None
    parts = ", ".join(f"{invoice.number} {amount}" for invoice, amount in shares)
    credit = line.amount - sum((amount for _, amount in shares), Decimal(0))
    line.match_note = (f"Booked by hand to {customer.name}"
                       + (f": {parts}" if parts else "")
                       + (f"; {credit} {line.currency} as credit" if credit else ""))[:300]
    return payment


def accept_suggestion(line: BankLine, *, user_id: int | None = None) -> Payment:
    """Book the line as matching suggests now."""
    _waiting(line)
    found = suggestions([line]).get(line.id)
    if found is None or found.customer_id is None:
        raise BankImportError("There is no suggestion for this line any more.")
    customer = db.session.get(Customer, found.customer_id)
    shares = [(db.session.get(Document, share.invoice_id), share.amount)
              for share in found.shares]
    payment = book_by_hand(line, customer, shares, user_id=user_id)
    line.confidence = Decimal(found.confidence)
    line.match_note = f"Suggestion accepted: {found.reason}"[:300]
    return payment


def ignore_line(line: BankLine, reason: str, *, user_id: int | None = None) -> None:
    """Take a waiting line out of the queue: not a customer's payment (why, required)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise BankImportError("Say why the line is ignored.")
    if line.status != BankLineStatus.UNMATCHED:
        raise _not_waiting(line)
    line.status, line.match_note = BankLineStatus.IGNORED, f"Ignored: {reason}"[:300]
    audit.record("bank.line_ignored", line, f"Bank line {line.position} of statement"
                 f" #{line.statement_id} ignored: {reason}", user_id=user_id)


def restore_line(line: BankLine, *, user_id: int | None = None) -> None:
    """Put an ignored line back in the queue."""
    if line.status != BankLineStatus.IGNORED or line.amount <= 0:
        raise BankImportError("Only an ignored line of money in goes back to the queue.")
    line.status, line.match_note = BankLineStatus.UNMATCHED, ""
    audit.record("bank.line_restored", line, f"Bank line {line.position} of statement"
                 f" #{line.statement_id} back in the queue", user_id=user_id)


def undo_line(line: BankLine, *, user_id: int | None = None) -> None:
    """Reverse the payment booked from the line; the line waits for staff again."""
    payment = payment_of(line)
    if payment is None:
        raise BankImportError("No payment is booked from this line.")
    try:
        reverse_payment(payment, user_id=user_id)
    except PaymentError as exc:
        raise BankImportError(str(exc)) from None
    # reverse_payment put the line (the same object) back to unmatched
    line.confidence, line.match_note = None, "Booking undone."




# --- CSV mappings ----------------------------------------------------------------------


def save_csv_mapping(account: BankAccount, *, delimiter: str, decimal_comma: bool,
                     date_format: str, encoding: str, header_rows: int,
                     columns: dict[str, str]) -> BankCsvMapping:
    """Create or change the account's CSV mapping."""
    columns = {name: value.strip() for name, value in columns.items() if (value or "").strip()}
    if "booked_on" not in columns:
        raise BankImportError("Name the column of the booking date.")
    if not ({"amount", "credit", "debit"} & set(columns)):
        raise BankImportError("Name the amount column, or the credit and debit columns.")
    if "amount" in columns and ({"credit", "debit"} & set(columns)):
        raise BankImportError("Give either one amount column or credit and debit columns.")
    if "%" not in date_format:
        raise BankImportError("Give the date format with %d, %m and %Y (e.g. %d.%m.%Y).")
    try:
        "x".encode(encoding)
    except LookupError:
        raise BankImportError(f"{encoding!r} is not an encoding.") from None
    mapping = db.session.scalar(select(BankCsvMapping).where(
        BankCsvMapping.bank_account_id == account.id))
    if mapping is None:
        mapping = BankCsvMapping(bank_account_id=account.id)
        db.session.add(mapping)
    mapping.delimiter, mapping.decimal_comma = delimiter[:1] or ";", decimal_comma
    mapping.date_format, mapping.encoding = date_format, encoding
    mapping.header_rows, mapping.columns = max(0, header_rows), columns
    db.session.flush()
    audit.record("bank.csv_mapping_saved", mapping,
                 f"CSV mapping saved for {account.label or account.iban or account.bban}")
    return mapping

