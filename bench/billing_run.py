"""A month's billing run on PostgreSQL: 10,000 contracts invoiced and issued, PDF excluded.

Seeds a throwaway database (bench/harness.py) with one tenant (NOK, a 25 % VAT rate, a
bank account) through the services, then in bulk (Core executemany inserts as the app
role, inside the tenant: row-level security applies as to the app) 2,000 customers, each
with a contact that receives invoices, and 10,000 contracts (5 per customer) with 3 lines
each: monthly, in advance, billing day 1, started between June and September 2026, fixed
prices (one line with a 10 % discount). The tables are analysed as the owner afterwards.

On ``RUN_DATE`` (2026-12-01) every contract bills December 2026, whole (nothing prorated).
Timed, through the application's own code, as the billing queue's job runs it:

- ``start_s``: ``billing.start_run(RUN_DATE, None, consolidate=False, issue=True,
  queued=False)`` (records the run) and its commit.
- ``carry_out_s``: ``billing.carry_out(run_id)``: plans the run and makes one invoice per
  contract, issued, ``COMMIT_EVERY`` per transaction (``bulk.write_chunk``: the invoices,
  their 3 lines each, the billed periods, numbers, snapshots, hash chain, audit rows).
- ``run_s`` = ``start_s`` + ``carry_out_s``; ``invoices_per_s`` = 10,000 / ``run_s``.

PDF excluded: the run queues ``printing.store_pdfs`` jobs for its invoices after each
commit (the default queue renders them); here those requests are counted
(``pdf_jobs_queued``), not run.

Then checked: 10,000 invoices, all issued, numbered 1..10,000 with an unbroken hash chain
(``chain.verify_series``); 30,000 lines; 10,000 billed periods; the run ``done``; a second
run on the same date makes 0 invoices (its time is ``second_run_s``).

``core_insert_s``, in the same process and before the run (on the fresh database; a
CHECKPOINT before it and before the run): a fresh second tenant with its own 2,000
customers and VAT rate (not timed), then one plain SQLAlchemy Core executemany
``insert(documents).returning(id)`` of 10,000 invoice rows and ``insert(document_lines)``
of 30,000 line rows, on the app's own connection and role, in one transaction, committed;
the row dicts of the lines are made inside the timing. The rows carry what an issued
invoice carries (totals, dates, seller and buyer snapshots, hashes, the lines' VAT and
contract fields) but are drafts without a number: the database refuses lines added to an
issued document (``document_lines_immutable``). ``ratio`` = ``run_s`` / ``core_insert_s``.

Also the SQL statements per invoice in each phase (a ``before_cursor_execute`` counter;
an executemany counts once per statement sent). Targets: ``ratio`` at most 5,
``invoices_per_s`` at least 1,000. Writes bench/results/billing_run.json.

``--contracts N`` runs the same with N contracts (and N / 5 customers) instead, for a
quick look (written to billing_run_N.json); the issue's figures are those of the default 10,000.

``python bench/billing_run.py --profile`` also bills 300 more contracts of a third tenant
under cProfile (start_run and carry_out, drafts), after the timed run, and prints the
most expensive functions (all, and the application's own).
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import pstats
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from harness import ADMIN_URL, throwaway_app, write_results
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.orm import selectinload, undefer

from saas.billing.catalog.models import VatCategory, VatRate
from saas.billing.contracts import billing
from saas.billing.contracts.models import BilledPeriod, BillingRun, Contract, ContractLine
from saas.billing.contracts.proration import BillingPeriod
from saas.billing.customers.models import Contact, Customer
from saas.billing.documents import chain
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants import services as tenant_services
from saas.tenants.models import BankAccount

CONTRACTS = 10_000
LINES = 3  # per contract
CUSTOMERS = 2_000
RUN_DATE = date(2026, 12, 1)
STARTS = (date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1))
PROFILED = 300
RATIO_TARGET, PER_S_TARGET = 5, 1_000
# (description, unit, quantity, unit price, discount %) of each contract's lines.
LINE_TERMS = (
    ("Alarm monitoring", "mo", Decimal(1), Decimal("490.00"), Decimal(0)),
    ("Guard patrol", "h", Decimal(2), Decimal("650.00"), Decimal(10)),
    ("Service and maintenance", "mo", Decimal(1), Decimal("129.50"), Decimal(0)),
)
NAMES = ("Fjord", "Harbour", "Nordlys", "Granite", "Bjørk", "Kestrel", "Larch", "Tind")
SUFFIXES = ("AS", "Bakeri", "Bygg", "Logistikk", "Consulting", "Eiendom")


# The PDF jobs the run asks for after each commit: counted, not run (PDF excluded).
PDF_JOBS: list[tuple] = []


def _count_pdf_job(func: object, *args: object, **kwargs: object) -> None:
    PDF_JOBS.append(args)


billing.enqueue = _count_pdf_job


class StatementCounter:
    """Counts the SQL statements the engine sends (an executemany counts once)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(db.engine, "before_cursor_execute", self)


# --- seeding ---------------------------------------------------------------------------


def seed_tenant(name: str) -> dict[str, int]:
    """A tenant (NOK) with a 25 % VAT rate and a default bank account, through the services."""
    tenant = tenant_services.create_tenant(name, currency="NOK")
    tenant.address_line1, tenant.postal_code, tenant.city = "Kaia 2", "5003", "Bergen"
    tenant.org_number, tenant.vat_id = "912345678", "NO912345678MVA"
    with scoping.tenant_context(tenant.id):
        vat = VatRate(code="S25", name="Standard", rate=Decimal("25.00"),
                      category=VatCategory.STANDARD)
        db.session.add(vat)
        db.session.add(BankAccount(label="Main", iban="NO9386011117947", bic="DNBANOKKXXX",
                                   currency="NOK", is_default=True))
        db.session.flush()
        shop = {"tenant": tenant.id, "vat": vat.id}
    db.session.commit()
    return shop


def seed_customers(shop: dict[str, int], count: int) -> list[int]:
    """count customers, each with a contact who receives invoices (bulk); their ids."""
    rows = []
    for n in range(count):
        number = 10001 + n
        name = f"{NAMES[n % len(NAMES)]} {SUFFIXES[(n // 8) % len(SUFFIXES)]} {number}"
        rows.append({"number": number, "name": name, "country": "NO", "currency": "NOK",
                     "address_line1": f"Storgata {n % 150 + 1}", "postal_code": "5003",
                     "city": "Bergen", "language": "nb", "payment_terms_days": 14,
                     "org_number": f"8{n:08d}", "search_text": f"{name.lower()} {number}"})
    with scoping.tenant_context(shop["tenant"]):
        ids = list(db.session.scalars(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True), rows))
        db.session.execute(insert(Contact), [
            {"customer_id": customer_id, "name": "Accounts", "receives_invoices": True,
             "email": f"faktura{customer_id}@example.no"} for customer_id in ids])
    db.session.commit()
    return ids


def seed_contracts(shop: dict[str, int], customer_ids: list[int], count: int,
                   first: int = 1) -> None:
    """count monthly in-advance contracts with LINES fixed-price lines each (bulk)."""
    rows = []
    for n in range(count):
        rows.append({
            "number": f"C-{first + n:05d}", "customer_id": customer_ids[n % len(customer_ids)],
            "title": f"Security services {first + n}", "start_date": STARTS[n % len(STARTS)],
            "billing_period": BillingPeriod.MONTHLY, "in_advance": True, "billing_day": 1,
            "currency": "NOK", "payment_terms_days": 14})
    with scoping.tenant_context(shop["tenant"]):
        for start in range(0, count, 2_000):
            chunk = rows[start:start + 2_000]
            ids = db.session.scalars(
                insert(Contract).returning(Contract.id, sort_by_parameter_order=True),
                chunk).all()
            db.session.execute(insert(ContractLine), [
                {"contract_id": contract_id, "line_key": key, "effective_from": row["start_date"],
                 "description": description, "unit": unit, "quantity": quantity,
                 "unit_price": price, "discount_percent": discount, "vat_rate_id": shop["vat"]}
                for contract_id, row in zip(ids, chunk, strict=True)
                for key, (description, unit, quantity, price, discount)
                in enumerate(LINE_TERMS, start=1)])
    db.session.commit()


def analyze(owner_url: str) -> None:
    """ANALYZE as the owner, as autovacuum would after a load."""
    engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for table in ("customers", "contacts", "contracts", "contract_lines", "documents",
                      "document_lines", "billed_periods"):
            connection.execute(text(f"ANALYZE {table}"))
    engine.dispose()


def checkpoint() -> None:
    """CHECKPOINT as the admin (best effort): each timed phase starts without dirty buffers."""
    try:
        engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("CHECKPOINT"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - not allowed to: measure anyway
        print(f"no CHECKPOINT: {exc}", file=sys.stderr)


# --- the run ---------------------------------------------------------------------------


def create_invoices(tenant_id: int, issue: bool = True,
                    ) -> tuple[int, int, float, float, int, int]:
    """start_run + carry_out (one invoice per contract): run id, made, timings, statements."""
    with scoping.tenant_context(tenant_id):
        with StatementCounter() as start_statements:
            started = time.perf_counter()
            run = billing.start_run(RUN_DATE, None, consolidate=False, issue=issue,
                                    queued=False)
            run_id = run.id
            db.session.commit()
            start_s = time.perf_counter() - started
        with StatementCounter() as carry_statements:
            started = time.perf_counter()
            made = billing.carry_out(run_id)
            carry_s = time.perf_counter() - started
    return run_id, made, start_s, carry_s, start_statements.count, carry_statements.count


def check_run(tenant_id: int, run_id: int) -> dict[str, object]:
    """The run made what it should; a second run on the date makes nothing."""
    with scoping.tenant_context(tenant_id):
        invoices = db.session.scalar(select(func.count()).select_from(Document).where(
            Document.kind == DocumentKind.INVOICE))
        issued = db.session.scalars(select(Document.counter).where(
            Document.status == DocumentStatus.ISSUED).order_by(Document.counter)).all()
        breaks = chain.verify_series("invoice", db.session.scalars(
            select(Document).where(Document.kind == DocumentKind.INVOICE,
                                   Document.number.is_not(None))
            .options(selectinload(Document.lines), undefer(Document.pdf))
            .order_by(Document.chain_position)))
        lines = db.session.scalar(select(func.count()).select_from(DocumentLine))
        periods = db.session.scalar(select(func.count()).select_from(BilledPeriod).where(
            BilledPeriod.run_id == run_id))
        run = db.session.get(BillingRun, run_id)
        status, done, run_invoices = run.status.value, run.done, run.invoices
    db.session.commit()
    assert invoices == CONTRACTS, f"{invoices} invoices, not {CONTRACTS}"
    assert issued == list(range(1, CONTRACTS + 1)), "numbers missing, repeated or unissued"
    assert not breaks, f"the hash chain breaks: {breaks[:3]}"
    assert lines == CONTRACTS * LINES, f"{lines} lines, not {CONTRACTS * LINES}"
    assert periods == CONTRACTS, f"{periods} billed periods, not {CONTRACTS}"
    assert (status, done, run_invoices) == ("done", CONTRACTS, CONTRACTS), (status, done)

    started = time.perf_counter()
    _, again, *_ = create_invoices(tenant_id)
    second_s = time.perf_counter() - started
    assert again == 0, f"a second run made {again} invoices"
    return {"invoices": invoices, "lines": lines, "billed_periods": periods,
            "chain_breaks": len(breaks), "second_run_invoices": again,
            "second_run_s": round(second_s, 2)}


# --- the baseline: plain Core executemany ------------------------------------------------


def core_insert(shop: dict[str, int], customer_ids: list[int]) -> float:
    """10,000 document rows and 30,000 line rows by Core executemany; seconds."""
    documents, lines = Document.__table__, DocumentLine.__table__
    tenant_id, now = shop["tenant"], datetime.now(UTC)
    seller = {"name": "Bench Baseline AS", "address_lines": ["Kaia 2", "5003 Bergen"],
              "country": "NO", "org_number": "912345678", "vat_id": "NO912345678MVA",
              "bank_accounts": [{"label": "Main", "iban": "NO9386011117947",
                                 "bic": "DNBANOKKXXX", "bban": "", "currency": "NOK"}],
              "primary_color": "#1f4e79", "footer_text": "", "logo_sha256": None}
    nets = [quantity * price * (100 - discount) / 100
            for _, _, quantity, price, discount in LINE_TERMS]
    net = sum(nets, Decimal(0)).quantize(Decimal("0.01"))
    vat = (net / 4).quantize(Decimal("0.01"))
    document_rows = []
    for n in range(CONTRACTS):
        customer_id = customer_ids[n % len(customer_ids)]
        chain_hash = hashlib.sha256(f"{n}".encode()).hexdigest()
        document_rows.append({
            "tenant_id": tenant_id, "public_id": uuid.uuid4().hex, "kind": "invoice",
            "status": "draft", "customer_id": customer_id, "currency": "NOK",
            "tenant_currency": "NOK", "exchange_rate": Decimal(1), "language": "nb",
            "issue_date": RUN_DATE, "due_date": RUN_DATE + timedelta(days=14),
            "payment_terms_days": 14, "payment_reference": "", "notes": "",
            "show_balance": False, "payment_demand": False, "net_total": net,
            "vat_total": vat, "gross_total": net + vat, "seller": seller,
            "buyer": {"customer_number": 10001 + n % len(customer_ids),
                      "name": f"Customer {customer_id}", "address_lines": ["Storgata 1",
                                                                           "5003 Bergen"],
                      "country": "NO", "org_number": "", "vat_id": "",
                      "email": f"faktura{customer_id}@example.no"},
            "chain_position": n + 1, "previous_hash": "0" * 64, "chain_hash": chain_hash,
            "issued_at": now, "created_at": now})
    with scoping.tenant_context(tenant_id):
        connection = db.session.connection()  # the app's role, the tenant set for RLS
        started = time.perf_counter()
        ids = connection.execute(
            insert(documents).returning(documents.c.id, sort_by_parameter_order=True),
            document_rows).scalars().all()
        line_rows = [
            {"tenant_id": tenant_id, "document_id": document_id, "position": key,
             "description": f"{description} — C-{n + 1:05d}, 2026-12", "quantity": quantity,
             "unit": unit, "unit_price": price, "discount_percent": discount,
             "net": line_net.quantize(Decimal("0.01")), "vat_rate_id": shop["vat"],
             "vat_code": "S25", "vat_rate": Decimal("25.00"), "vat_category": "standard",
             "vat_note": "", "site_label": "", "contract_id": None,
             "period_start": RUN_DATE, "period_end": date(2026, 12, 31),
             "price_explanation": ""}
            for n, document_id in enumerate(ids)
            for key, ((description, unit, quantity, price, discount), line_net)
            in enumerate(zip(LINE_TERMS, nets, strict=True), start=1)]
        connection.execute(insert(lines), line_rows)
        db.session.commit()
        elapsed = time.perf_counter() - started
    with scoping.tenant_context(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Document)) == CONTRACTS
        assert db.session.scalar(
            select(func.count()).select_from(DocumentLine)) == CONTRACTS * LINES
    db.session.commit()
    return elapsed


# --- profile -----------------------------------------------------------------------------


def profile_creation() -> pstats.Stats:
    """Bill PROFILED contracts of a fresh tenant under cProfile (drafts)."""
    shop = seed_tenant("Bench Profiled AS")
    customers = seed_customers(shop, PROFILED // 5)
    seed_contracts(shop, customers, PROFILED)
    profiler = cProfile.Profile()
    _, made, *_ = profiler.runcall(create_invoices, shop["tenant"])
    assert made == PROFILED, made
    return pstats.Stats(profiler)


def main(profile: bool = False) -> None:
    if CUSTOMERS * 5 != CONTRACTS:
        print(f"scaled run: {CONTRACTS} contracts, {CUSTOMERS} customers", flush=True)
    results: dict[str, object] = {"contracts": CONTRACTS, "lines_per_contract": LINES,
                                  "customers": CUSTOMERS, "run_date": RUN_DATE.isoformat(),
}
    began = time.perf_counter()
    with throwaway_app() as app:
        started = time.perf_counter()
        shop = seed_tenant("Bench Billing AS")
        customers = seed_customers(shop, CUSTOMERS)
        seed_contracts(shop, customers, CONTRACTS)
        baseline = seed_tenant("Bench Baseline AS")
        baseline_customers = seed_customers(baseline, CUSTOMERS)
        analyze(app.config["MIGRATION_DATABASE_URL"])
        results["seed_s"] = round(time.perf_counter() - started, 1)
        print(f"seeded {CONTRACTS} contracts in {results['seed_s']} s", flush=True)

        # The baseline first, on the fresh database: measured after the run it came out 2 to
        # 5 times slower (the run's dead tuples, checkpoints, autovacuum), flattering the ratio.
        checkpoint()
        core_s = core_insert(baseline, baseline_customers)
        print(f"core insert in {core_s:.2f} s", flush=True)
        checkpoint()

        run_id, made, start_s, carry_s, start_n, carry_n = create_invoices(shop["tenant"])
        assert made == CONTRACTS, f"the run made {made} invoices"
        print(f"made and issued {made} invoices in {start_s + carry_s:.1f} s", flush=True)
        results.update(check_run(shop["tenant"], run_id))
        results["pdf_jobs_queued"] = len(PDF_JOBS)

        stats = profile_creation() if profile else None

    run_s = start_s + carry_s
    results.update({
        "commit_every": billing.COMMIT_EVERY,
        "start_s": round(start_s, 2), "carry_out_s": round(carry_s, 2),
        "run_s": round(run_s, 2), "core_insert_s": round(core_s, 3),
        "ratio": round(run_s / core_s, 1), "invoices_per_s": round(CONTRACTS / run_s, 1),
        "statements_per_invoice": {
            "start": round(start_n / CONTRACTS, 3), "carry_out": round(carry_n / CONTRACTS, 3),
            "total": round((start_n + carry_n) / CONTRACTS, 3)},
        "targets": {"ratio_target": RATIO_TARGET, "invoices_per_s_target": PER_S_TARGET},
    })
    results["ratio_target_met"] = results["ratio"] <= RATIO_TARGET
    results["invoices_per_s_target_met"] = results["invoices_per_s"] >= PER_S_TARGET
    results["total_wall_s"] = round(time.perf_counter() - began, 1)
    # A scaled run writes billing_run_N.json, leaving the issue's figures alone.
    write_results("billing_run" if CONTRACTS == 10_000 else f"billing_run_{CONTRACTS}", results)
    if stats is not None:
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("cumulative").print_stats(30)
        stats.print_stats("saas/", 30)  # the application's own functions
        print(out.getvalue())
        tottime = Counter({f"{path}:{line}({name})": value[2]
                           for (path, line, name), value in stats.stats.items()})
        print(json.dumps({"top_tottime_s": [(k, round(v, 3))
                                            for k, v in tottime.most_common(15)]}, indent=1))


if __name__ == "__main__":
    if "--contracts" in sys.argv[1:]:
        CONTRACTS = int(sys.argv[sys.argv.index("--contracts") + 1])
        CUSTOMERS = max(1, CONTRACTS // 5)
    main(profile="--profile" in sys.argv[1:])
