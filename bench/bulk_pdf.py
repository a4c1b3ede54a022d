"""Bulk PDFs: 2,000 invoices issued by a billing run, their PDFs rendered by two RQ workers.

Seeds a throwaway PostgreSQL database (bench/harness.py) as bench/billing_run.py does (its
``seed_tenant``, ``seed_customers``, ``seed_contracts``: one NOK tenant with a 25 % VAT
rate and a bank account, 400 customers with a contact each, 2,000 monthly contracts of 3
lines), plus the tenant's branding like a real one (bench/documents_render.py's PNG logo,
a footer). Then one billing run on 2026-12-01 with ``issue=True`` (``start_run`` +
``carry_out``, billing_run.py's ``create_invoices``), with REDIS_URL on the real Redis,
database ``BENCH_REDIS_DB`` (7 by default, emptied before and after): the run issues the
2,000 invoices without PDFs and, after each commit, queues one ``printing.store_pdfs``
job for the chunk's invoices on the "default" queue, as in production (``jobs``,
``pdfs_per_job``). Nothing renders a PDF until the workers start.

Timed: two ``worker.py default`` processes (``.venv/bin/python worker.py default``, as
deployed: each warms up fonts and mappers and forks a work horse per job), started
together with DATABASE_URL = the app role's URL and REDIS_URL = the bench database; the
clock runs from just before they start until the database holds a PDF for every invoice
(polled every 0.1 s). ``seconds`` includes the workers' own start-up (``ready_s``: until
both have registered with Redis). ``pdfs_per_s`` = 2,000 / ``seconds``. The workers are
then terminated (SIGTERM to the PIDs started here, SIGKILL after 10 s; also when anything
fails), and every stored PDF is checked to start with ``%PDF``. ``workers_cpu_s``: the
CPU time the workers and their work horses used (user + system, ``RUSAGE_CHILDREN`` once
they are reaped), start-up included; ``cpu_ms_per_pdf`` = that / 2,000, the figure a busy
machine changes least (two free CPUs would make about 2,000 / (``workers_cpu_s`` / 2)
PDFs a second).

For comparison, ``render_ms``: the median of 5 renders of one of these invoices
(``render_document_pdf``) in this process, fonts registered. Target: ``pdfs_per_s`` at
least 30. Writes bench/results/bulk_pdf.json.

``python bench/bulk_pdf.py --profile`` instead runs ``store_pdfs`` on 100 of the invoices
in this process under cProfile (no workers, nothing written) and prints where time goes.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import os
import pstats
import resource
import statistics
import subprocess
import sys
import time

import billing_run
from documents_render import logo_png
from harness import ROOT, throwaway_app, write_results
from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from saas import queue as saas_queue
from saas.billing.documents.models import Document
from saas.billing.documents.pdf import register_fonts
from saas.billing.documents.printing import (
    STORE_COMMIT_EVERY,
    render_document_pdf,
    store_pdfs,
)
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Branding

# billing_run.py counts the run's PDF jobs instead of queueing them: queue them here.
billing_run.billing.enqueue = saas_queue.enqueue

INVOICES = 2_000
CUSTOMERS = 400
WORKERS = 2
QUEUE = saas_queue.DEFAULT_QUEUE
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '7')}"
PER_S_TARGET = 30
TIMEOUT_S = 600
PROFILED = 100
PYTHON = ROOT / ".venv" / "bin" / "python"


def brand(tenant_id: int, logo: bytes) -> None:
    """Give the tenant a logo and a footer, as a real one has."""
    with scoping.tenant_context(tenant_id):
        branding = db.session.scalar(select(Branding))
        branding.logo, branding.logo_mime = logo, "image/png"
        branding.logo_sha256 = hashlib.sha256(logo).hexdigest()
        branding.footer_text = "Bench PDFs AS · Kaia 2, 5003 Bergen · Org. no. 912345678 MVA"
    db.session.commit()


def stored(tenant_id: int) -> int:
    """Invoices of the tenant with a PDF stored."""
    with scoping.tenant_context(tenant_id):
        count = db.session.scalar(select(func.count()).select_from(Document).where(
            Document.kind == DocumentKind.INVOICE, Document.pdf.is_not(None)))
    db.session.commit()
    return count


def start_workers(app_url: str) -> list[subprocess.Popen]:
    """WORKERS worker.py processes on QUEUE, on the throwaway database and the bench Redis."""
    env = {**os.environ, "DATABASE_URL": app_url, "REDIS_URL": REDIS_URL,
           "SECRET_KEY": "bench", "APP_DB_ROLE": "saas_app"}
    env.pop("MIGRATION_DATABASE_URL", None)
    return [subprocess.Popen([str(PYTHON), str(ROOT / "worker.py"), QUEUE], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(WORKERS)]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """SIGTERM each worker started here (a warm shutdown), SIGKILL if it lingers."""
    for process in workers:
        if process.poll() is None:
            process.terminate()
    for process in workers:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_pdfs(tenant_id: int, workers: list[subprocess.Popen], connection: Redis,
                  started: float) -> float:
    """Poll until every invoice has its PDF; the seconds until both workers registered."""
    ready_s = None
    failed = FailedJobRegistry(QUEUE, connection=connection)
    while True:
        if ready_s is None and Worker.count(connection=connection) >= WORKERS:
            ready_s = time.perf_counter() - started
        if stored(tenant_id) >= INVOICES:
            return ready_s if ready_s is not None else time.perf_counter() - started
        dead = [p for p in workers if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a worker stopped: {dead[0].stderr.read().decode()[-2000:]}")
        if failed.count:
            job = Job.fetch(failed.get_job_ids()[0], connection=connection)
            result = job.latest_result()
            raise RuntimeError(f"{failed.count} PDF jobs failed, {job.id}:"
                               f" {result.exc_string if result else '?'}")
        if time.perf_counter() - started > TIMEOUT_S:
            raise RuntimeError(f"only {stored(tenant_id)} PDFs after {TIMEOUT_S} s")
        time.sleep(0.1)


def check_pdfs(tenant_id: int) -> int:
    """Every invoice has a stored PDF that is a PDF; how many."""
    with scoping.tenant_context(tenant_id):
        pdfs = db.session.scalars(select(func.substr(Document.pdf, 1, 5)).where(
            Document.kind == DocumentKind.INVOICE)).all()
    db.session.commit()
    assert len(pdfs) == INVOICES, f"{len(pdfs)} invoices, not {INVOICES}"
    assert all(pdf == b"%PDF-" for pdf in pdfs), "an invoice without a PDF, or not a PDF"
    return len(pdfs)


def render_ms(tenant_id: int) -> float:
    """Median ms of 5 renders of one of the invoices, in this process, fonts registered."""
    register_fonts()
    with scoping.tenant_context(tenant_id):
        document = db.session.scalar(select(Document).where(
            Document.kind == DocumentKind.INVOICE).order_by(Document.id).limit(1)
            .options(undefer(Document.pdf)))
        render_document_pdf(document)  # warm-up: templates, the logo
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            render_document_pdf(document)
            timings.append((time.perf_counter() - started) * 1000)
    db.session.rollback()
    return round(statistics.median(timings), 1)


def pdf_jobs(connection: Redis) -> int:
    """store_pdfs jobs waiting on QUEUE."""
    queue = Queue(QUEUE, connection=connection)
    name = f"{store_pdfs.__module__}.{store_pdfs.__name__}"
    return sum(1 for job in queue.get_jobs() if job.func_name == name)


def profile_store(tenant_id: int, count: int) -> None:
    """Run store_pdfs on count of the invoices in this process under cProfile; print it."""
    register_fonts()  # as worker.py warms up before forking
    with scoping.tenant_context(tenant_id):
        ids = db.session.scalars(select(Document.id).where(
            Document.kind == DocumentKind.INVOICE).order_by(Document.id).limit(count)).all()
    db.session.commit()
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profiler.runcall(store_pdfs, ids, tenant_id=tenant_id)
    print(f"store_pdfs of {count}: {time.perf_counter() - started:.2f} s,"
          f" {time.process_time() - cpu:.2f} s CPU")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue())


def main(profile: bool = False) -> None:
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    results: dict[str, object] = {"invoices": INVOICES, "workers": WORKERS, "queue": QUEUE,
                                  "lines_per_invoice": billing_run.LINES}
    workers: list[subprocess.Popen] = []
    try:
        with throwaway_app(REDIS_URL=REDIS_URL) as app:
            shop = billing_run.seed_tenant("Bench PDFs AS")
            brand(shop["tenant"], logo_png())
            customers = billing_run.seed_customers(shop, CUSTOMERS)
            billing_run.seed_contracts(shop, customers, INVOICES)
            billing_run.analyze(app.config["MIGRATION_DATABASE_URL"])
            _, made, start_s, carry_s, *_ = billing_run.create_invoices(shop["tenant"])
            assert made == INVOICES, f"the run made {made} invoices"
            if profile:
                profile_store(shop["tenant"], PROFILED)
                return
            assert stored(shop["tenant"]) == 0, "PDFs rendered before the workers started"
            jobs = pdf_jobs(connection)
            print(f"issued {made} invoices in {start_s + carry_s:.1f} s; {jobs} PDF jobs",
                  flush=True)
            results["other_queued_jobs"] = {
                name: Queue(name, connection=connection).count
                for name in saas_queue.QUEUES if name != QUEUE}

            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            workers = start_workers(app.config["SQLALCHEMY_DATABASE_URI"])
            ready_s = wait_for_pdfs(shop["tenant"], workers, connection, started)
            seconds = time.perf_counter() - started
            stop_workers(workers)
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_s = (cpu_after.ru_utime + cpu_after.ru_stime
                     - cpu_before.ru_utime - cpu_before.ru_stime)
            pdfs = check_pdfs(shop["tenant"])
            results.update({
                "pdfs": pdfs, "jobs": jobs, "pdfs_per_job": round(pdfs / jobs, 1),
                "commit_every": billing_run.billing.COMMIT_EVERY,
                "seconds": round(seconds, 2), "ready_s": round(ready_s, 2),
                "pdfs_per_s": round(pdfs / seconds, 1),
                "pdfs_per_s_after_ready": round(pdfs / (seconds - ready_s), 1),
                "render_ms": render_ms(shop["tenant"]),
                "workers_cpu_s": round(cpu_s, 1),
                "cpu_ms_per_pdf": round(cpu_s * 1000 / pdfs, 1),
                "store_commit_every": STORE_COMMIT_EVERY,
                "pdfs_per_s_target": PER_S_TARGET,
            })
            results["target_met"] = results["pdfs_per_s"] >= PER_S_TARGET
    finally:
        stop_workers(workers)
        connection.flushdb()
    results["load_average"] = os.getloadavg()
    write_results("bulk_pdf", results)


if __name__ == "__main__":
    sys.exit(main(profile="--profile" in sys.argv[1:]))
