"""Bank statement pages: upload, statements, the matching queue, one line, CSV mappings.

A statement of up to ``BANK_IMPORT_INLINE_LINES`` lines is imported in the request; a
larger one by a job on the default queue, whose page polls its progress; that import's
sure matches are booked after it (pending lines), and the statement's page and the
run's poll the booking's progress until every one is booked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from flask import abort, current_app, flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.customers.services import customer_search
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.imports.models import ImportRun
from saas.billing.payments import statements
from saas.billing.payments.bank import services
from saas.billing.payments.bank.jobs import BANK_RUN_KIND, run_statement_import, statement_of_run
from saas.billing.payments.bank.services import OPEN_STATUSES, BankImportError
from saas.billing.payments.matching import Match
from saas.billing.payments.models import (
    BankCsvMapping,
    BankLine,
    BankLineStatus,
    BankStatement,
)
from saas.billing.payments.services import PaymentError, customer_credit
from saas.billing.payments.statements.bank_csv import FIELDS
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.pagination import paginate
from saas.queue import enqueue, job_retry
from saas.tenants.access import MANAGERS, current_tenant, get_or_404, requires, staff_blueprint
from saas.tenants.models import BankAccount, Role

bp = staff_blueprint("bank", __name__, url_prefix="/bank")

BANK_STAFF = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
MAPPERS = MANAGERS | {Role.ACCOUNTANT}
LINES_PER_PAGE, QUEUE_PER_PAGE = 100, 25
STATUS_FILTERS = {"waiting": BankLineStatus.UNMATCHED, "matched": BankLineStatus.MATCHED,
                  "pending": BankLineStatus.PENDING, "ignored": BankLineStatus.IGNORED}


@bp.route("/")
@requires(BANK_STAFF)
def index() -> Response:
    """Imported statements, newest first, and how many lines wait in the queue."""
    page = paginate(select(BankStatement).order_by(BankStatement.imported_at.desc(),
                                                   BankStatement.id.desc()),
                    request.args.get("page", 1, type=int), per_page=25)
    return render("bank/index.html", page=page, waiting=_waiting_count(),
                  accounts=_accounts())


def _accounts() -> list[BankAccount]:
    return list(db.session.scalars(select(BankAccount).order_by(
        BankAccount.is_default.desc(), BankAccount.id)))


def _waiting_count() -> int:
    return db.session.scalar(select(func.count()).select_from(BankLine).where(
        BankLine.status == BankLineStatus.UNMATCHED, BankLine.amount > 0)) or 0


# --- upload ----------------------------------------------------------------------------


@bp.route("/upload", methods=["GET", "POST"])
@requires(BANK_STAFF)
def upload() -> Response:
    """Upload a statement: checked whole first, then imported (in a job when large)."""
    accounts = _accounts()
    if request.method == "GET":
        return _upload_page(accounts)
    account = next((a for a in accounts
                    if str(a.id) == request.form.get("bank_account_id")), None)
    fmt = request.form.get("format") or None
    upload_file = request.files.get("file")
    if account is None:
        return _upload_page(accounts, "Choose the bank account the statement is of.")
    if fmt is not None and fmt not in statements.FORMATS:
        return _upload_page(accounts, "Choose a format, or let it be detected.", account)
    if upload_file is None or not upload_file.filename:
        return _upload_page(accounts, "Choose a statement file to upload.", account)
    data = upload_file.stream.read(statements.MAX_BYTES + 1)
    file_name = PurePath(upload_file.filename.replace("\\", "/")).name[:200] or "statement"
    try:  # read whole first: a broken file is refused here, with nothing saved
        fmt, parsed = services.read_statement(data, account, fmt)
    except BankImportError as exc:
        return _upload_page(accounts, f"Nothing was imported. {exc}", account)
    lines = sum(len(statement.lines) for statement in parsed)
    if lines > current_app.config.get("BANK_IMPORT_INLINE_LINES", 500):
        return _start_job(data, file_name, account, fmt, lines)
    try:
        result = services.import_statement(data, file_name, account, fmt,
                                           user_id=current_user.id)
        db.session.commit()
    except (BankImportError, IntegrityError) as exc:
        db.session.rollback()
        message = str(exc) if isinstance(exc, BankImportError) else \
            "The file was imported meanwhile."
        return _upload_page(accounts, f"Nothing was imported. {message}", account)
    flash(result.summary, "success")
    for warning in result.warnings:
        flash(warning, "warning")
    return redirect_to(url_for("bank.statement", bank_statement_id=result.statement_id))


def _upload_page(accounts: list[BankAccount], problem: str = "",
                 account: BankAccount | None = None) -> Response:
    mapped = set(db.session.scalars(select(BankCsvMapping.bank_account_id)))
    return render("bank/upload.html", status=422 if problem else 200, accounts=accounts,
                  problem=problem, selected=account, formats=statements.FORMAT_LABELS,
                  chosen_format=request.form.get("format", ""), mapped=mapped,
                  max_megabytes=_max_upload_bytes() // (1024 * 1024))


def _max_upload_bytes() -> int:
    """What a statement may weigh: the parser's limit, or the request's when that is less
    (a larger request is refused whole, with the 413 page)."""
    request_limit = current_app.config.get("MAX_CONTENT_LENGTH") or statements.MAX_BYTES
    return min(statements.MAX_BYTES, request_limit)


def _start_job(data: bytes, file_name: str, account: BankAccount, fmt: str,
               lines: int) -> Response:
    sha = hashlib.sha256(data).hexdigest()
    run = ImportRun(kind=f"{BANK_RUN_KIND}{sha[:15]}", filename=file_name[:100], total=lines,
                    created_by_id=current_user.id)
    db.session.add(run)
    db.session.flush()
    # Retried when its worker dies: the killed import left nothing, the retry imports it.
    enqueue(run_statement_import, run.id, data, file_name, account.id, fmt, current_user.id,
            tenant_id=current_tenant().id, job_id=f"bank-import-{run.id}", retry=job_retry())
    db.session.commit()
    return redirect_to(url_for("bank.import_run", import_run_id=run.id))


@bp.route("/imports/<int:import_run_id>")
@requires(BANK_STAFF)
def import_run(import_run_id: int) -> Response:
    """A background import's progress; the fragment polls itself until the run ends."""
    run = get_or_404(ImportRun, import_run_id)
    if not run.kind.startswith(BANK_RUN_KIND):
        abort(404)
    statement = statement_of_run(run) if run.finished else None
    counts = _line_counts(statement.id) if statement is not None else {}
    return render("bank/run.html", block="run_status" if wants_fragment() else None,
                  run=run, statement=statement, counts=counts)


# --- statements and the queue ----------------------------------------------------------


@bp.route("/statements/<int:bank_statement_id>")
@requires(BANK_STAFF)
def statement(bank_statement_id: int) -> Response:
    """A statement and its lines with their status (all, or of one status)."""
    found = get_or_404(BankStatement, bank_statement_id)
    counts = _line_counts(found.id)
    if "booking" in request.args and wants_fragment():  # the booking's progress, polled
        if not counts.get(BankLineStatus.PENDING.value):  # done: the page again, whole
            return redirect_to(url_for("bank.statement", bank_statement_id=found.id))
        return render("bank/statement.html", block="booking", statement=found, counts=counts)
    shown = request.args.get("status", "")
    lines = select(BankLine).where(BankLine.statement_id == found.id)
    if shown in STATUS_FILTERS:
        lines = lines.where(BankLine.status == STATUS_FILTERS[shown])
    page = paginate(lines.order_by(BankLine.position), request.args.get("page", 1, type=int),
                    per_page=LINES_PER_PAGE, count_limit=None)
    account = db.session.get(BankAccount, found.bank_account_id) if found.bank_account_id \
        else None
    return render("bank/statement.html", block="statement_lines" if wants_fragment() else None,
                  statement=found, page=page, counts=counts, shown=shown, account=account)


def _line_counts(statement_id: int) -> dict[str, int]:
    """How many of the statement's lines are of each status (by its value)."""
    return {status.value: count for status, count in db.session.execute(
        select(BankLine.status, func.count()).where(BankLine.statement_id == statement_id)
        .group_by(BankLine.status)).all()}


@bp.route("/queue")
@requires(BANK_STAFF)
def queue() -> Response:
    """Lines of money in that wait for staff, oldest first, each with a suggestion."""
    page = paginate(select(BankLine).where(BankLine.status == BankLineStatus.UNMATCHED,
                                           BankLine.amount > 0)
                    .order_by(BankLine.booked_on, BankLine.id),
                    request.args.get("page", 1, type=int), per_page=QUEUE_PER_PAGE)
    suggested = services.suggestions(page.items)
    return render("bank/queue.html", block="queue_lines" if wants_fragment() else None,
                  page=page, suggested=suggested, names=_names(suggested.values()))


def _names(matches: Iterable[Match]) -> dict[str, dict[int, str]]:
    """Customer names and invoice numbers the suggestions name."""
    matches = list(matches)
    customer_ids = {m.customer_id for m in matches if m.customer_id}
    invoice_ids = {s.invoice_id for m in matches for s in m.shares}
    return {
        "customers": dict(db.session.execute(select(Customer.id, Customer.name).where(
            Customer.id.in_(customer_ids))).all()) if customer_ids else {},
        "invoices": dict(db.session.execute(select(Document.id, Document.number).where(
            Document.id.in_(invoice_ids))).all()) if invoice_ids else {},
    }


# --- one line --------------------------------------------------------------------------


@bp.route("/lines/<int:bank_line_id>")
@requires(BANK_STAFF)
def line(bank_line_id: int) -> Response:
    """One line: its booking (with undo), or the ways to match it by hand."""
    found = get_or_404(BankLine, bank_line_id)
    return _line_page(found)


def _line_page(found: BankLine, problem: str = "", status: int = 200) -> Response:
    payment = services.payment_of(found)
    waiting = found.status == BankLineStatus.UNMATCHED and found.amount > 0
    suggestion = services.suggestions([found]).get(found.id) if waiting else None
    customer = None
    customer_id = request.values.get("customer_id", type=int) or (
        suggestion.customer_id if suggestion else None)
    if waiting and customer_id:
        customer = db.session.get(Customer, customer_id)
        if customer is None:
            abort(404)
    query = request.args.get("q", "").strip()
    found_customers = (db.session.scalars(customer_search(query).limit(10)).all()
                       if waiting and query else [])
    if wants_fragment() and request.headers.get("HX-Target") == "customer-results":
        return render("bank/line.html", block="customer_results", line=found,
                      found_customers=found_customers, query=query)
    invoices = _open_invoices(customer, found.currency) if customer else []
    return render("bank/line.html", status=status, line=found, payment=payment,
                  suggestion=suggestion, names=_names([suggestion] if suggestion else []),
                  customer=customer, invoices=invoices,
                  proposed=_proposed(found, invoices, suggestion), problem=problem,
                  query=query, found_customers=found_customers,
                  credit=customer_credit(customer.id, found.currency) if customer else None)


def _open_invoices(customer: Customer, currency: str) -> list[Document]:
    return list(db.session.scalars(
        select(Document).where(Document.customer_id == customer.id, Document.kind == K.INVOICE,
                               Document.status.in_(OPEN_STATUSES),
                               Document.currency == currency)
        .order_by(Document.due_date, Document.id)))


def _proposed(found: BankLine, invoices: list[Document],
              suggestion: Match | None) -> dict[int, Decimal]:
    """Amounts to fill in: the suggestion's, else the oldest due first."""
    if suggestion is not None and suggestion.shares:
        return {s.invoice_id: s.amount for s in suggestion.shares}
    proposed, left = {}, found.amount
    for invoice in invoices:
        if left <= 0:
            break
        proposed[invoice.id] = min(left, invoice.open_amount)
        left -= proposed[invoice.id]
    return proposed


@bp.route("/lines/<int:bank_line_id>/book", methods=["POST"])
@requires(BANK_STAFF)
def book(bank_line_id: int) -> Response:
    """Book the line by hand: to the chosen customer's invoices, the rest as credit."""
    found = get_or_404(BankLine, bank_line_id)
    customer = get_or_404(Customer, request.form.get("customer_id", type=int) or 0)
    shares = []
    if request.form.get("action") != "credit":
        for invoice in _open_invoices(customer, found.currency):
            text = (request.form.get(f"amount_{invoice.id}") or "").strip().replace(",", ".")
            if not text:
                continue
            try:
                amount = Decimal(text)
            except InvalidOperation:
                return _refused(found, f"{text!r} is not an amount ({invoice.number}).")
            if amount < 0 or not amount.is_finite():
                return _refused(found, f"Give {invoice.number} an amount of 0 or more.")
            shares.append((invoice, amount))
    try:
        services.book_by_hand(found, customer, shares, user_id=current_user.id)
        db.session.commit()
    except (BankImportError, PaymentError) as exc:
        db.session.rollback()
        return _refused(db.session.get(BankLine, bank_line_id), str(exc))
    flash(f"Line {found.position} booked: {found.match_note}", "success")
    return redirect_to(_next_url(found))


def _refused(found: BankLine, message: str) -> Response:
    return _line_page(found, f"Nothing was booked. {message}", status=422)


def _next_url(found: BankLine) -> str:
    """Back where staff came from: the queue, or the statement."""
    if request.form.get("next") == "statement":
        return url_for("bank.statement", bank_statement_id=found.statement_id)
    return url_for("bank.queue")


@bp.route("/lines/<int:bank_line_id>/accept", methods=["POST"])
@requires(BANK_STAFF)
def accept(bank_line_id: int) -> Response:
    """Book the line as matching suggests it."""
    found = get_or_404(BankLine, bank_line_id)
    try:
        services.accept_suggestion(found, user_id=current_user.id)
        db.session.commit()
    except (BankImportError, PaymentError) as exc:
        db.session.rollback()
        return _refused(db.session.get(BankLine, bank_line_id), str(exc))
    flash(f"Line {found.position} booked: {found.match_note}", "success")
    return redirect_to(_next_url(found))


def _change_line(bank_line_id: int, change: Callable[[BankLine], None], done: str,
                 back: Callable[[BankLine], str]) -> Response:
    """Apply a change to one line and commit; the line's page with the reason if refused."""
    found = get_or_404(BankLine, bank_line_id)
    try:
        change(found)
        db.session.commit()
    except BankImportError as exc:
        db.session.rollback()
        return _line_page(db.session.get(BankLine, bank_line_id), str(exc), status=422)
    flash(done.format(position=found.position), "success")
    return redirect_to(back(found))


def _line_url(found: BankLine) -> str:
    return url_for("bank.line", bank_line_id=found.id)


@bp.route("/lines/<int:bank_line_id>/ignore", methods=["POST"])
@requires(BANK_STAFF)
def ignore(bank_line_id: int) -> Response:
    """Take the line out of the queue, with the reason."""
    return _change_line(bank_line_id, lambda line: services.ignore_line(
        line, request.form.get("reason", ""), user_id=current_user.id),
        "Line {position} ignored.", _next_url)


@bp.route("/lines/<int:bank_line_id>/restore", methods=["POST"])
@requires(BANK_STAFF)
def restore(bank_line_id: int) -> Response:
    """Put an ignored line back in the queue."""
    return _change_line(bank_line_id, lambda line: services.restore_line(
        line, user_id=current_user.id), "Line {position} is back in the queue.", _line_url)


@bp.route("/lines/<int:bank_line_id>/undo", methods=["POST"])
@requires(BANK_STAFF)
def undo(bank_line_id: int) -> Response:
    """Reverse the payment booked from the line; the line waits in the queue again."""
    return _change_line(bank_line_id, lambda line: services.undo_line(
        line, user_id=current_user.id),
        "The booking of line {position} is undone; the line waits in the queue.", _line_url)


# --- CSV mappings ----------------------------------------------------------------------


@bp.route("/accounts/<int:bank_account_id>/csv-mapping", methods=["GET", "POST"])
@requires(MAPPERS)
def csv_mapping(bank_account_id: int) -> Response:
    """How the account's CSV statements are read: saved once, used for every file."""
    account = get_or_404(BankAccount, bank_account_id)
    mapping = db.session.scalar(select(BankCsvMapping).where(
        BankCsvMapping.bank_account_id == account.id))
    problem = ""
    if request.method == "POST":
        form = request.form
        try:
            services.save_csv_mapping(
                account, delimiter="\t" if form.get("delimiter") == "tab"
                else form.get("delimiter", ";"),
                decimal_comma=form.get("decimal_comma") == "1",
                date_format=form.get("date_format", "").strip(),
                encoding=form.get("encoding", "").strip() or "utf-8",
                header_rows=form.get("header_rows", 1, type=int) or 0,
                columns={name: form.get(f"column_{name}", "") for name in FIELDS})
            db.session.commit()
            flash("The CSV mapping is saved.", "success")
            return redirect_to(url_for("bank.upload"))
        except BankImportError as exc:
            db.session.rollback()
            problem = str(exc)
    return render("bank/csv_mapping.html", status=422 if problem else 200, account=account,
                  mapping=mapping, fields=FIELDS, problem=problem, form=request.form)
