"""Payment reminders at scale: one sweep over 1,000,000 invoices, then e-mails through a worker.

Seeds a throwaway PostgreSQL database (bench/harness.py) with 100 tenants, each with the
suggested reminder policy (``adopt_suggested_policy``: a friendly note 3 days before the
due date without a letter, a first reminder at +7 days, a payment demand at +21 days with a
fixed 40.00 fee and interest; then interest 11.25 %, 7 days between reminders, to-dos 7
days after the last level, the invoice attached), its branding (with a logo) and one bank
account, through the services; then, in bulk with binary psycopg ``COPY`` as the owner
role (row-level security un-forced for the load and forced again in the same transaction,
as migration 0005 does), 1,000 customers and 10,000 issued invoices per tenant: numbers
per year ``INV-2025-00042``, en/pl/nb by customer, seller and buyer snapshots (the buyer's
"email" set), totals with VAT, dates over three years. Per tenant, on the bench's
``TODAY``:

- 8,700 paid invoices;
- 1,000 open and overdue (10 %): 480 due 7-20 days ago with no reminder yet and 160 due
  10-40 days ago after a friendly note (both due the first reminder), 320 due 21-90 days
  ago whose first reminder went out 7-30 days ago (due the payment demand), 20 due 1-6
  days ago (nothing due yet; 5 of them paused) and 20 whose payment demand went out 7-60
  days ago (a to-do for the tenant);
- 300 open and not yet due, 40 of them in the friendly note's window (due in 0-3 days).

So one sweep claims 100,000 reminders (1,000 per tenant: 32,000 demands, 64,000 first
reminders, 4,000 friendly notes) in 1,000 mail jobs of 100, and files 2,000 to-dos. The
52,000 earlier reminders are seeded as sent (without their delivery rows: nothing here
reads those). The tenants have no users, so the to-do notices e-mail nobody. A VACUUM
ANALYZE follows the load, as autovacuum would after it.

The stored invoice PDF is one realistic invoice rendered once by ``render_pdf``
(bench/documents_render.py's sample: logo, Polish text, EPC QR; about 34 KB) and reused
for every **open** invoice, the ones a reminder can attach. Paid invoices are stored
without PDF bytes: 1,000,000 copies would be about 34 GB of TOAST and WAL for nothing the
bench reads (the PDF is stored out of line, so the sweep's heap scans do not see it). The
load sets ``default_toast_compression = lz4`` for its own session: the PDF does not
compress, and pglz spends about 0.2 ms a row finding that out (lz4 stores it 6 % smaller).

Figures (bench/results/reminders.json):

- ``sweep_s``: one ``sweep(TODAY)`` over the 100 tenants with REDIS_URL on the real Redis
  (database ``BENCH_REDIS_DB``, 14 by default, flushed before and after; the tests use 15):
  claims, commits per tenant, queues the ``send_reminders`` jobs. Also ``claimed``,
  ``jobs``, ``notices``, and ``sweep_again_s`` (a second sweep the same day: claims 0).
- ``emails_per_s``: one forking RQ ``Worker`` on the "mail" queue, as worker.py runs it
  (each job in a forked work horse, which starts cold: this process renders no PDF before
  it, the sample invoice is rendered in a process of its own), ``work(burst=True,
  max_jobs=MAIL_JOBS)`` timed from start to end: the first 25 jobs, 23 of them
  ``send_reminders`` (2,300 e-mails, the mix of levels above) and 2 ``notify_unpaid``.
  The fork costs little against the 100 e-mails of a job (``SimpleWorker`` was measured
  about 5 % faster), and the SMTP sink's thread in this process shares no GIL with the
  job. The sink is aiosmtpd on 127.0.0.1: it counts messages and their PDF attachments
  with a scan of the raw bytes (the client waits for its reply: a MIME parse there would
  be charged to the worker). Checks that every message carries a PDF and that the sink's
  count equals the reminders the jobs returned and the database marks sent. Also
  ``letter_ms`` (median render of one payment-demand letter), the PDFs per message, the
  job durations and the sink's own CPU per message.

``python bench/reminders.py --profile`` also runs the next 3 mail jobs in this process
under cProfile, after the timed run, and prints the most expensive functions.
Targets: ``sweep_s`` under 5, ``emails_per_s`` at least 50.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import logging
import multiprocessing
import os
import pstats
import random
import resource
import socket
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal

import psycopg
from aiosmtpd.controller import Controller
from harness import throwaway_app, write_results
from psycopg.copy import QueuedLibpqWriter
from rq import Worker
from rq.job import Job, JobStatus
from sqlalchemy import func, make_url, select

from saas.billing.customers.models import Customer
from saas.billing.documents import issuing
from saas.billing.documents.models import Document
from saas.billing.reminders import services as reminder_services
from saas.billing.reminders.letter import render_letter
from saas.billing.reminders.models import Reminder, ReminderPause, ReminderStatus
from saas.billing.reminders.sending import letter_for, send_reminders
from saas.billing.reminders.sweep import CHUNK, sweep
from saas.extensions import db
from saas.queue import MAIL_QUEUE, get_queue, redis_connection
from saas.tenants import scoping
from saas.tenants import services as tenant_services
from saas.tenants.models import BankAccount, Branding
from worker import warm_up

TENANTS = 100
CUSTOMERS = 1_000  # per tenant
TODAY = date(2026, 12, 1)
FIRST_ISSUE = date(2024, 1, 2)
TERMS = 14
# Per tenant: (group, how many). See the module docstring.
GROUPS = (
    ("paid", 8_700),
    ("first_due", 480),  # overdue 7-20 days, no reminder yet
    ("first_after_note", 160),  # overdue 10-40 days, a friendly note before the due date
    ("demand_due", 320),  # overdue 21-90 days, the first reminder 7-30 days ago
    ("grace", 20),  # overdue 1-6 days: nothing due yet
    ("demanded", 20),  # the payment demand went out 7-60 days ago: a to-do
    ("note_due", 40),  # due in 0-3 days: the friendly note
    ("not_due", 260),  # due in 4-13 days
)
INVOICES = sum(count for _, count in GROUPS)  # per tenant
PAUSED = 5  # per tenant, among the "grace" invoices
CLAIMS = {"demand_due": 3, "first_due": 2, "first_after_note": 2, "note_due": 1}
# The suggested policy's levels (1, 2, 3) by their day after the due date.
LEVEL_DAYS = {1: -3, 2: 7, 3: 21}
MAIL_JOBS = 25  # about 2,300 e-mails
PROFILED_JOBS = 3
SWEEP_TARGET_S, EMAILS_TARGET_PER_S = 5, 50
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/{db}").format(
    db=os.environ.get("BENCH_REDIS_DB", "14"))

PROFILES = (  # country, currency, home language, VAT %, city, postal code, IBAN, BIC
    ("NO", "NOK", "nb", 25, "Bergen", "5003", "NO9386011117947", "DNBANOKKXXX"),
    ("PL", "PLN", "pl", 23, "Kraków", "31-042", "PL61109010140000071219812874", "BREXPLPW"),
    ("IE", "EUR", "en", 23, "Cork", "T12 X70A", "IE29AIBK93115212345678", "AIBKIE2D"),
)
LANGUAGES = ("en", "pl", "nb")
NAMES = ("Fjord", "Wisła", "Harbour", "Nordlys", "Żuraw", "Granite", "Tatra", "Shannon",
         "Bjørk", "Kestrel", "Łąka", "Larch")
# A MIME part declared as a PDF, and a base64 line that starts with "%PDF-" (JVBERi0).
PDF_PART, PDF_BODY = b"Content-Type: application/pdf", b"\nJVBERi0"
SUFFIXES = ("AS", "Sp. z o.o.", "Ltd", "Bakeri", "Serwis", "Logistics", "Consulting", "Bygg")


# --- the SMTP sink ------------------------------------------------------------------------


class Sink:
    """aiosmtpd handler: counts messages and the PDF attachments of each, cheaply.

    The client waits for the reply to DATA, so the check is a scan of the raw message
    (a part declared application/pdf whose base64 body starts with "%PDF-"), not a MIME
    parse: the sink should cost the measured worker as little as a real relay would.
    """

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.pdfs: Counter[int] = Counter()  # PDFs per message -> messages
        self.recipients: set[str] = set()
        self.seconds = 0.0  # spent checking messages

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802, ANN001
        started = time.perf_counter()
        content = envelope.original_content or envelope.content
        declared, pdfs = content.count(PDF_PART), content.count(PDF_BODY)
        self.messages += 1
        self.bytes += len(content)
        self.pdfs[pdfs if pdfs == declared else -1] += 1
        self.recipients.update(envelope.rcpt_tos)
        self.seconds += time.perf_counter() - started
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- seeding ---------------------------------------------------------------------------------


def seed_tenants(logo: bytes) -> list[dict]:
    """100 tenants through the services: branding with a logo, a bank account, the policy."""
    tenants = []
    for n in range(TENANTS):
        country, currency, locale, vat, city, postal, iban, bic = PROFILES[n % len(PROFILES)]
        tenant = tenant_services.create_tenant(
            f"{NAMES[n % len(NAMES)]} {SUFFIXES[n % len(SUFFIXES)]} {n + 1:03d}",
            country=country, currency=currency, locale=locale)
        tenant.address_line1, tenant.postal_code, tenant.city = f"Kaia {n + 1}", postal, city
        tenant.org_number, tenant.vat_id = f"9{n:08d}", f"{country}9{n:08d}"
        with scoping.tenant_context(tenant.id):
            branding = db.session.scalar(select(Branding))
            branding.logo, branding.logo_mime = logo, "image/png"
            branding.logo_sha256 = hashlib.sha256(logo).hexdigest()
            branding.footer_text = f"{tenant.name} · {city} · Org. no. 9{n:08d}"
            branding.reply_to = f"accounts@tenant{n + 1}.example"
            db.session.add(BankAccount(label="Main", iban=iban, bic=bic, currency=currency,
                                       is_default=True))
            reminder_services.adopt_suggested_policy()
            reminder_services.update_policy({
                "enabled": True, "interest_rate": Decimal("11.25"), "min_days_between": 7,
                "notify_after_days": 7, "attach_invoice": True})
            db.session.flush()
            seller = issuing.snapshot_seller(currency)
        tenants.append({"id": tenant.id, "slug": tenant.slug, "currency": currency,
                        "country": country, "vat": vat, "city": city, "postal": postal,
                        "seller": json.dumps(seller)})
    db.session.commit()
    return tenants


def column_defaults(model: type) -> dict[str, object]:
    """The model's Python-side defaults, as COPY needs every NOT NULL column spelled out."""
    values = {}
    for column in model.__table__.columns:
        default = column.default
        if column.primary_key or default is None:
            continue
        value = default.arg(None) if default.is_callable else default.arg
        values[column.name] = getattr(value, "value", value)  # enums by value
    return values


def copy_rows(cursor: psycopg.Cursor, model: type, columns: Sequence[str],
              rows: Iterable[tuple]) -> int:
    """Binary COPY of rows (values in the order of columns) into the model's table.

    The model's defaults fill the other columns. A writer thread sends the data while the
    next rows are made. JSON goes as text, which is also its binary form.
    """
    fixed = {name: value for name, value in column_defaults(model).items()
             if name not in columns}
    names = [*columns, *fixed]
    table = model.__tablename__
    cursor.execute(
        "SELECT a.attname, CASE WHEN t.typname IN ('json', 'varchar') THEN 'text'"
        " ELSE t.typname END FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0", (table,))
    types = dict(cursor.fetchall())
    tail, count = tuple(fixed.values()), 0
    with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)",
                     writer=QueuedLibpqWriter(cursor)) as copy:
        copy.set_types([types[name] for name in names])
        for row in rows:
            copy.write_row(row + tail)
            count += 1
    return count


def _amount(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _invoice_dates(group: str, rng: random.Random) -> tuple[date, date | None]:
    """(due date, the day of the last earlier reminder or None) for an invoice of a group."""
    if group == "paid":
        issue = FIRST_ISSUE + timedelta(days=rng.randrange((TODAY - FIRST_ISSUE).days - 30))
        return issue + timedelta(days=TERMS), None
    if group == "first_due":
        return TODAY - timedelta(days=rng.randint(7, 20)), None
    if group == "first_after_note":
        due = TODAY - timedelta(days=rng.randint(10, 40))
        return due, due - timedelta(days=3)
    if group == "demand_due":
        due = TODAY - timedelta(days=rng.randint(21, 90))
        latest = TODAY - timedelta(days=7)
        earliest = max(due + timedelta(days=7), TODAY - timedelta(days=30))
        return due, earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
    if group == "grace":
        return TODAY - timedelta(days=rng.randint(1, 6)), None
    if group == "demanded":
        due = TODAY - timedelta(days=rng.randint(50, 120))
        return due, TODAY - timedelta(days=rng.randint(7, min(60, (TODAY - due).days - 21)))
    if group == "note_due":
        return TODAY + timedelta(days=rng.randint(0, 3)), None
    return TODAY + timedelta(days=rng.randint(4, 13)), None  # not_due


def seed_bulk(owner_url: str, tenants: list[dict], pdf: bytes) -> dict[str, object]:
    """Customers, invoices, earlier reminders and a few pauses, COPYed as the owner."""
    rng = random.Random(2026)
    pdf_sha = hashlib.sha256(pdf).hexdigest()
    created = datetime.now(UTC)
    expected = Counter()
    reminders: list[tuple] = []
    pauses: list[tuple] = []
    timings = {}
    conninfo = make_url(owner_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    tables = ("customers", "documents", "reminders", "reminder_pauses")
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        # The PDF does not compress: pglz tries and gives up (about 0.2 ms a row), lz4
        # fails fast. Only this session's new values; the app's own writes keep pglz.
        cursor.execute("SET default_toast_compression = lz4")
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")

        started = time.perf_counter()
        buyers: dict[int, list[tuple[int, int, str, str]]] = {}

        def customer_rows() -> Iterator[tuple]:
            customer_id = 0
            for t in tenants:
                buyers[t["id"]] = []
                for n in range(CUSTOMERS):
                    customer_id += 1
                    number = 10001 + n
                    name = (f"{NAMES[(n * 7) % len(NAMES)]} "
                            f"{SUFFIXES[(n * 5) % len(SUFFIXES)]} {number}")
                    language = LANGUAGES[n % len(LANGUAGES)]
                    mail = f"ap{number}@{t['slug']}-c{n % 97}.example"
                    street = f"Storgata {n % 150 + 1}"
                    buyer = json.dumps({
                        "customer_number": number, "name": name,
                        "address_lines": [street, f"{t['postal']} {t['city']}"],
                        "country": t["country"], "org_number": f"8{n:08d}",
                        "vat_id": "", "email": mail})
                    buyers[t["id"]].append((customer_id, number, language, buyer))
                    yield (customer_id, t["id"], number, name, t["country"], street,
                           t["postal"], t["city"], language, t["currency"], TERMS,
                           f"{name.lower()} {number} {mail}", created)

        customers = copy_rows(cursor, Customer, (
            "id", "tenant_id", "number", "name", "country", "address_line1", "postal_code",
            "city", "language", "currency", "payment_terms_days", "search_text",
            "created_at"), customer_rows())
        timings["seed_customers_s"] = round(time.perf_counter() - started, 1)

        started = time.perf_counter()

        def invoice_rows() -> Iterator[tuple]:
            document_id = 0
            for t in tenants:
                invoices = []
                for group, count in GROUPS:
                    for _ in range(count):
                        due, earlier = _invoice_dates(group, rng)
                        invoices.append((due - timedelta(days=TERMS), due, group, earlier))
                invoices.sort(key=lambda row: row[0])
                counters: Counter[int] = Counter()
                previous_hash, paused = "0" * 64, 0
                for position, (issued, due, group, earlier) in enumerate(invoices, start=1):
                    document_id += 1
                    counters[issued.year] += 1
                    counter = counters[issued.year]
                    number = f"INV-{issued.year}-{counter:05d}"
                    customer_id, customer_number, language, buyer = rng.choice(buyers[t["id"]])
                    net = rng.randint(5_000, 2_500_000)
                    vat = (net * t["vat"] + 50) // 100
                    chain_hash = hashlib.sha256(f"{previous_hash}{number}".encode()).hexdigest()
                    is_open = group != "paid"
                    expected[group] += 1
                    if group in CLAIMS:
                        expected[f"level_{CLAIMS[group]}"] += 1
                    if earlier is not None:
                        _earlier_reminders(reminders, t, document_id, customer_id, group,
                                           earlier, net + vat, created)
                    if group == "grace" and paused < PAUSED:
                        paused += 1
                        pauses.append((t["id"], document_id, "Disputed: waiting for a credit"
                                       " note", created))
                    yield (
                        document_id, t["id"], uuid.uuid4().hex, "invoice",
                        "issued" if is_open else "paid", number, counter, str(issued.year),
                        customer_id, t["currency"], t["currency"], Decimal(1), language, issued,
                        issued,
                        due, TERMS, f"{customer_number:06d}{counter:05d}{issued.year % 10}",
                        _amount(net), _amount(vat), _amount(net + vat), t["seller"], buyer,
                        position, previous_hash, chain_hash,
                        pdf if is_open else None, pdf_sha if is_open else None,
                        datetime.combine(issued, day_time(9), tzinfo=UTC), created)
                    previous_hash = chain_hash

        documents = copy_rows(cursor, Document, (
            "id", "tenant_id", "public_id", "kind", "status", "number", "counter", "period",
            "customer_id", "currency", "tenant_currency", "exchange_rate", "language",
            "issue_date", "delivery_date", "due_date", "payment_terms_days",
            "payment_reference", "net_total", "vat_total", "gross_total", "seller", "buyer",
            "chain_position", "previous_hash", "chain_hash", "pdf", "pdf_sha256", "issued_at",
            "created_at"), invoice_rows())
        timings["seed_invoices_s"] = round(time.perf_counter() - started, 1)

        started = time.perf_counter()
        copy_rows(cursor, Reminder, (
            "tenant_id", "document_id", "customer_id", "level_day", "level_name", "reminded_on",
            "status", "currency", "open_amount", "fee", "interest", "interest_days",
            "interest_rate", "created_at"), reminders)
        copy_rows(cursor, ReminderPause, ("tenant_id", "document_id", "reason", "created_at"),
                  pauses)
        for table in ("customers", "documents"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                           f" (SELECT max(id) FROM {table}))")
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        connection.commit()
        timings["seed_reminders_s"] = round(time.perf_counter() - started, 1)

        started = time.perf_counter()
        connection.autocommit = True
        for table in (*tables, "todos"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    return {"customers": customers, "invoices": documents, "earlier_reminders": len(reminders),
            "pauses": len(pauses), "expected": expected, **timings}


def _earlier_reminders(out: list[tuple], t: dict, document_id: int, customer_id: int,
                       group: str, last_day: date, gross_cents: int, created: datetime) -> None:
    """The reminders an invoice already had: (level, name, day), the last on last_day.

    Levels are known by their day after the due date: -3, 7 and 21 (LEVEL_DAYS).
    """
    if group == "first_after_note":
        earlier = [(1, "Friendly note", last_day)]
    elif group == "demand_due":
        earlier = [(2, "First reminder", last_day)]
    else:  # demanded: the first reminder 14 days before the demand
        earlier = [(2, "First reminder", last_day - timedelta(days=14)),
                   (3, "Payment demand", last_day)]
    for level, name, day in earlier:
        fee = Decimal("40.00") if level == 3 else Decimal(0)
        out.append((t["id"], document_id, customer_id, LEVEL_DAYS[level], name, day, "sent",
                    t["currency"], _amount(gross_cents), fee, Decimal(0), 0,
                    Decimal("11.25") if level == 3 else Decimal(0), created))


# --- measuring ---------------------------------------------------------------------------


def count_reminders(tenant_ids: Sequence[int], **where: object) -> int:
    total = 0
    for tenant_id in tenant_ids:
        with scoping.tenant_context(tenant_id):
            total += db.session.scalar(select(func.count(Reminder.id)).filter_by(**where))
    db.session.commit()
    return total


def run_worker(app, jobs: int) -> tuple[float, float, list[Job]]:  # noqa: ANN001
    """Run one forking RQ worker on the mail queue for `jobs` jobs, warmed up as worker.py
    warms up (fonts, catalogues, e-mail templates loaded once before forking).

    Returns the seconds, the CPU seconds of this process meanwhile (the SMTP sink, as the
    jobs run in forked work horses) and the jobs.
    """
    queue = get_queue(MAIL_QUEUE, app)
    job_ids = queue.get_job_ids(0, jobs)
    db.session.remove()
    db.engine.dispose()  # the forked work horses must not share pooled connections
    warm_up(app)
    worker = Worker([queue], connection=redis_connection(app))
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    worker.work(burst=True, max_jobs=jobs, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    sink_cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    return elapsed, sink_cpu, Job.fetch_many(job_ids, connection=redis_connection(app))


def letter_ms(tenant_id: int) -> float:
    """Median render of one payment-demand letter (a level-3 reminder claimed today)."""
    with scoping.tenant_context(tenant_id):
        reminder = db.session.scalar(
            select(Reminder).where(Reminder.level_day == LEVEL_DAYS[3],
                                   Reminder.reminded_on == TODAY)
            .order_by(Reminder.id).limit(1))
        letter = letter_for(reminder)
    db.session.commit()
    render_letter(letter)
    samples = []
    for _ in range(15):
        started = time.perf_counter()
        render_letter(letter)
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def profile_jobs(app, count: int) -> cProfile.Profile:  # noqa: ANN001
    """Take the next jobs off the mail queue and run them here under cProfile."""
    queue = get_queue(MAIL_QUEUE, app)
    profiler = cProfile.Profile()
    for job_id in queue.get_job_ids(0, count):
        job = Job.fetch(job_id, connection=redis_connection(app))
        queue.remove(job_id)
        profiler.runcall(send_reminders, *job.args, **job.kwargs)
    return profiler


def render_invoice() -> tuple[bytes, bytes]:
    """The logo and one realistic invoice PDF (5 lines), as bench/documents_render.py makes."""
    from documents_render import logo_png, sample

    from saas.billing.documents.pdf import render_pdf

    logo = logo_png()
    return logo, render_pdf(sample(5, logo=logo))


def main(profile: bool = False) -> None:
    # Rendered in a process of its own: the worker's work horses are forked from this one,
    # which must not hold the fonts and caches that a PDF leaves behind, as worker.py does not.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        logo, invoice_pdf = pool.submit(render_invoice).result()
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    results: dict[str, object] = {}
    try:
        with throwaway_app(REDIS_URL=REDIS_URL, SMTP_URL=f"smtp://127.0.0.1:{port}",
                           MAIL_FROM="reminders@bench.example",
                           PUBLIC_URL="https://app.bench.example") as app:
            logging.getLogger("saas.queue").setLevel(logging.WARNING)  # "already queued"
            redis = redis_connection(app)
            redis.flushdb()  # only BENCH_REDIS_DB
            try:
                results.update(_run(app, logo, invoice_pdf, sink, profile))
            finally:
                redis.flushdb()
    finally:
        controller.stop()
    write_results("reminders", results)
    print(f"seeded {results['invoices']:,} invoices in {results['seed_s']} s; "
          f"sweep {results['sweep_s']} s (target < {SWEEP_TARGET_S}) claimed "
          f"{results['claimed']:,} in {results['jobs']:,} jobs; again {results['sweep_again_s']}"
          f" s; {results['emails_per_s']} e-mails/s (target >= {EMAILS_TARGET_PER_S}), "
          f"letter {results.get('letter_ms')} ms")


def _run(app, logo: bytes, invoice_pdf: bytes, sink: Sink,  # noqa: ANN001
         profile: bool) -> dict[str, object]:
    results: dict[str, object] = {"tenants": TENANTS, "customers_per_tenant": CUSTOMERS,
                                  "invoices_per_tenant": INVOICES, "today": TODAY.isoformat(),
                                  "invoice_pdf_bytes": len(invoice_pdf)}
    started = time.perf_counter()
    tenants = seed_tenants(logo)
    results["seed_tenants_s"] = round(time.perf_counter() - started, 1)
    seeded = seed_bulk(app.config["MIGRATION_DATABASE_URL"], tenants, invoice_pdf)
    expected = seeded.pop("expected")
    results.update(seeded)
    results["seed_s"] = round(time.perf_counter() - started, 1)
    overdue = sum(expected[g] for g in ("first_due", "first_after_note", "demand_due",
                                        "grace", "demanded"))
    results["overdue"] = overdue
    print(f"seeded {TENANTS} tenants, {seeded['customers']:,} customers, "
          f"{seeded['invoices']:,} invoices ({overdue:,} overdue) in {results['seed_s']} s",
          flush=True)
    tenant_ids = [t["id"] for t in tenants]

    queue = get_queue(MAIL_QUEUE, app)
    started = time.perf_counter()
    result = sweep(TODAY)
    results["sweep_s"] = round(time.perf_counter() - started, 3)
    results.update(claimed=result.claimed, jobs=result.jobs, notices=result.notices,
                   requeued=result.requeued, mail_queue_jobs=queue.count)
    claims = sum(expected[f"level_{n}"] for n in (1, 2, 3))
    assert result.claimed == claims, f"claimed {result.claimed}, expected {claims}"
    assert result.notices == expected["demanded"], result.notices
    per_tenant = sum(count for group, count in GROUPS if group in CLAIMS)
    assert result.jobs == TENANTS * -(-per_tenant // CHUNK), result.jobs
    assert queue.count == result.jobs + TENANTS, queue.count  # and one notify_unpaid each
    for level in (1, 2, 3):
        got = count_reminders(tenant_ids, level_day=LEVEL_DAYS[level], reminded_on=TODAY)
        assert got == expected[f"level_{level}"], (level, got)
        results[f"claimed_level_{level}"] = got

    started = time.perf_counter()
    again = sweep(TODAY)
    results["sweep_again_s"] = round(time.perf_counter() - started, 3)
    assert again.claimed == 0 and again.jobs == 0, again
    print(f"sweep {results['sweep_s']} s: {result.claimed:,} claimed, {result.jobs:,} jobs, "
          f"{result.notices:,} to-dos; again {results['sweep_again_s']} s", flush=True)

    elapsed, sink_cpu, jobs = run_worker(app, MAIL_JOBS)
    statuses = Counter(job.get_status() for job in jobs)
    failed = [job for job in jobs if job.get_status() != JobStatus.FINISHED]
    assert not failed, [(job.id, job.get_status(), job.exc_info) for job in failed][:3]
    reminder_jobs = [job for job in jobs if job.func_name.endswith("send_reminders")]
    durations = [(job.ended_at - job.started_at).total_seconds() for job in reminder_jobs]
    returned = sum(job.return_value() or 0 for job in reminder_jobs)
    sent = 0
    for job in reminder_jobs:
        with scoping.tenant_context(job.kwargs["tenant_id"]):
            sent += db.session.scalar(select(func.count(Reminder.id)).where(
                Reminder.id.in_(job.args[0]), Reminder.status == ReminderStatus.SENT))
    db.session.commit()
    sent_today = count_reminders(tenant_ids, status=ReminderStatus.SENT, reminded_on=TODAY)
    assert sink.messages == sent == returned == sent_today, (sink.messages, sent, returned,
                                                            sent_today)
    assert 0 not in sink.pdfs, f"{sink.pdfs[0]} messages without a PDF"
    assert -1 not in sink.pdfs, f"{sink.pdfs[-1]} messages with a PDF part that is not a PDF"
    results.update(
        emails_per_s=round(sink.messages / elapsed, 1), emails=sink.messages,
        worker_s=round(elapsed, 2), worker="rq.Worker (forking, as worker.py)",
        worker_jobs=len(jobs), worker_reminder_jobs=len(reminder_jobs),
        job_s_first=round(durations[0], 2), job_s_median=round(statistics.median(durations), 2),
        job_statuses={str(k): v for k, v in statuses.items()},
        pdfs_per_message={str(k): v for k, v in sorted(sink.pdfs.items())},
        attachments_per_message=round(
            sum(k * v for k, v in sink.pdfs.items()) / sink.messages, 2),
        kb_per_message=round(sink.bytes / sink.messages / 1024, 1),
        sink_check_ms_per_message=round(sink.seconds * 1000 / sink.messages, 2),
        sink_cpu_ms_per_message=round(sink_cpu * 1000 / sink.messages, 2),
        recipients=len(sink.recipients))
    print(f"worker: {sink.messages:,} e-mails in {elapsed:.1f} s", flush=True)
    results["letter_ms"] = letter_ms(tenant_ids[0])
    results["sweep_target_s"] = SWEEP_TARGET_S
    results["emails_target_per_s"] = EMAILS_TARGET_PER_S
    results["sweep_target_met"] = results["sweep_s"] < SWEEP_TARGET_S
    results["emails_target_met"] = results["emails_per_s"] >= EMAILS_TARGET_PER_S
    if profile:  # apart from the timed run: cProfile slows everything down
        profiler = profile_jobs(app, PROFILED_JOBS)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(35)
        stats.print_stats("saas/", 30)
        print(out.getvalue())
    return results


if __name__ == "__main__":
    main(profile="--profile" in sys.argv[1:])
