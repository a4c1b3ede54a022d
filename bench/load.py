"""Load: the main pages under 8 concurrent clients, against gunicorn on loopback.

Seeds a throwaway PostgreSQL database (bench/harness.py) with one tenant of 100,000 issued
invoices, by bench/reports.py's ``seed_tenant`` and ``seed_bulk`` (binary ``COPY`` as the
owner; 5,000 customers, 500 products, 20,000 quotes, 10,000 orders, 100,000 deliveries,
VACUUM ANALYZE), with ``PER_INVOICE`` = 3 lines per invoice here (300,000 lines) instead
of its 10. Then, through the services: a contact with portal access for the customer of
the invoice the document page shows.

Sessions are made as the app makes them, not forged by hand: the staff member (an
accountant) and the portal contact are put in a Flask session with the test client
(``_user_id``; ``portal.visitors``' per-tenant state, as ``sign_in`` leaves it), one
request is made, and the signed ``session`` cookie the app answered with is sent by the
load generator. The gunicorn processes share the bench's ``SECRET_KEY``.

Gunicorn servers (the pinned gunicorn) on free loopback ports, with the same fixed
settings ``GUNICORN``: ``-w 4 -k gthread --threads 2`` (8 threads for 8 clients, two
processes per CPU on this 2-CPU machine), no access log: ``wsgi:app`` with DATABASE_URL =
the app role's URL and REDIS_URL (``BENCH_REDIS_DB``, 12 by default, emptied before and
after: rate limits and the page cache), as deployed; the same with ``PAGE_CACHE=0``, whose
figures go under ``no_page_cache``; and ``plain_app:app`` (bench/plain_app.py: a Flask
view returning a short text), the baseline. Each page's run starts with new session
cookies, settled as a browser keeps them (wrk resends one cookie: it must be the one the
server last set), and ends by asking twice more: ``served_from_cache`` says whether the
second answer came from the page cache.

Load generator: wrk 4.1 (Debian package ``wrk``; not needed by CI, benchmarks are not
part of it), 8 connections on 2 threads (``-c8 -t2``), a closed loop: each connection
sends its next request when the answer comes, so "8 concurrent clients" holding a
session cookie each. wrk is C: it takes far less of the 2 CPUs than locust or a Python
client, which would compete with gunicorn and lower every figure; bench/wrk_report.lua
prints its latency percentiles (from its own histogram) as JSON. Per page, a
``WARM_S`` run first (discarded: plans, templates, pools), then a ``RUN_S`` run that is
measured: ``rps`` (requests / duration), ``p50_ms``, ``p95_ms``; socket and HTTP errors
must be 0. Each page is first checked to answer 200 with its content for that cookie.

Pages (``invoice_list``, ``invoice_sums``, ``document``, ``portal``, ``api_list``,
``plain``): the invoice list ``/t/<slug>/documents/invoices/``, the sums that list page
asks for when it is shown (the htmx fragment: ``?totals=1``, target ``document-sums``),
an invoice's page ``/t/<slug>/documents/<id>``, the portal's document list
``/p/<slug>/documents``, the JSON API's document list (``api_list_request``: a read
token's first page of invoices), and the plain endpoint.

``python bench/load.py N`` seeds N invoices instead, for a quick look (load_N.json).

Also, in this process through the test client, per page: the SQL statements one request
runs, its time, the time in SQL and the two slowest statements (``profile``). Targets:
``p95_ms`` under 100 on every page, and for the list pages (``invoice_list``, ``portal``,
``api_list``) at least a third of ``plain``'s ``rps``. Writes bench/results/load.json,
with the settings and the load average.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import reports
from flask import Flask
from harness import ROOT, throwaway_app, write_results
from redis import Redis
from sqlalchemy import event, select

from saas import clock
from saas.billing.customers.models import Contact
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping

INVOICES = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
reports.PER_INVOICE = 3
reports.LINES = INVOICES * reports.PER_INVOICE
SECRET_KEY = "bench-load"
# The page cache's Redis (and the rate limiter's), emptied before and after.
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '12')}"
GUNICORN = ["-w", "4", "-k", "gthread", "--threads", "2"]
CLIENTS = 8
WARM_S, RUN_S = 5, 20
P95_TARGET_MS = 100
LIST_PAGES = ("invoice_list", "portal", "api_list")
WRK_SCRIPT = ROOT / "bench" / "wrk_report.lua"
BIN = ROOT / ".venv" / "bin"


@dataclass
class Page:
    """One page to load: its URL, the headers each request carries, what it must contain."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)
    expect: str = ""


# --- seeding and sessions ----------------------------------------------------------------


def seed(app: Flask) -> dict:
    """The tenant of 100,000 invoices, an invoice to show, its customer's portal contact."""
    shop = reports.seed_tenant()
    reports.seed_bulk(app.config["MIGRATION_DATABASE_URL"], shop)
    with scoping.tenant_context(shop["tenant"]):
        invoice = db.session.scalar(select(Document).where(
            Document.kind == DocumentKind.INVOICE, Document.counter == INVOICES // 2))
        contact = Contact(customer_id=invoice.customer_id, name="Accounts",
                          email="accounts@customer.example", portal_access=True,
                          receives_invoices=True)
        db.session.add(contact)
        db.session.flush()
        shop.update(invoice=invoice.id, number=invoice.number, contact=contact.id)
    db.session.commit()
    return shop


def session_cookie(app: Flask, values: dict, path: str) -> str:
    """The signed session cookie the app sets for these session values, after one request."""
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(values)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    cookie = client.get_cookie("session")
    return f"session={cookie.value}"


def staff_values(shop: dict) -> dict:
    return {"_user_id": str(shop["user"])}


def portal_values(shop: dict) -> dict:
    """What ``portal.visitors.sign_in`` keeps for a contact signed in now."""
    return {"portal": {str(shop["tenant"]): {"contact": shop["contact"],
                                             "at": clock.now().timestamp()}}}


def api_list_request(app: Flask, shop: dict) -> Page:
    """The JSON API's document list (invoices, 50 a page) with a read token of the tenant."""
    from saas.api.tokens import create_token

    with scoping.tenant_context(shop["tenant"]):
        token = create_token("Load benchmark", "read").secret
    db.session.commit()
    return Page("/api/v1/documents?kind=invoice", {"Authorization": f"Bearer {token}"},
                '"data"')


def pages(app: Flask, shop: dict) -> dict[str, Page | None]:
    """The pages to load, with their cookies (None: not available in this checkout)."""
    slug = shop["slug"]
    staff = {"Cookie": session_cookie(app, staff_values(shop), f"/t/{slug}/documents/invoices/")}
    portal = {"Cookie": session_cookie(app, portal_values(shop), f"/p/{slug}/documents")}
    return {
        "invoice_list": Page(f"/t/{slug}/documents/invoices/", staff, "INV-"),
        # The list's sums, which the list page asks for apart (htmx, on load).
        "invoice_sums": Page(f"/t/{slug}/documents/invoices/?totals=1",
                             {**staff, "HX-Request": "true", "HX-Target": "document-sums"},
                             "invoices in"),
        "document": Page(f"/t/{slug}/documents/{shop['invoice']}", staff, shop["number"]),
        "portal": Page(f"/p/{slug}/documents", portal, "INV-"),
        "api_list": api_list_request(app, shop),
    }


# --- profile: one request in this process ------------------------------------------------


def profile(app: Flask, page: Page) -> dict[str, object]:
    """SQL statements, ms, and the slowest statement of one request (after a warm-up)."""
    client = app.test_client()
    timings: list[tuple[float, str]] = []
    began: list[float] = []

    def before(conn: object, cursor: object, statement: str, *args: object) -> None:
        began.append(time.perf_counter())

    def after(conn: object, cursor: object, statement: str, *args: object) -> None:
        timings.append((time.perf_counter() - began.pop(), " ".join(statement.split())))

    headers = {k: v for k, v in page.headers.items() if k != "Cookie"}
    cookie = page.headers.get("Cookie", "")
    if cookie:
        client.set_cookie("session", cookie.removeprefix("session="))
    client.get(page.path, headers=headers)
    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        started = time.perf_counter()
        response = client.get(page.path, headers=headers)
        elapsed = time.perf_counter() - started
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    assert response.status_code == 200, (page.path, response.status_code)
    slowest = sorted(timings, reverse=True)[:2]
    return {"statements": len(timings), "ms": round(elapsed * 1000, 1),
            "sql_ms": round(sum(t for t, _ in timings) * 1000, 1),
            "slowest": [(round(t * 1000, 1), sql[:160]) for t, sql in slowest]}


# --- servers and load --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str]) -> Iterator[str]:
    """A gunicorn with the GUNICORN settings on a free loopback port; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), *GUNICORN, "-b", f"127.0.0.1:{port}",
         "--pythonpath", f"{ROOT},{ROOT / 'bench'}", app_spec],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        # Ready when it answers HTTP at all (any status): the workers have booted the app.
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=60).close()  # noqa: S310 - loopback
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app_spec} did not start:"
                                       f" {process.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()  # graceful: the arbiter stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check(base: str, page: Page) -> None:
    """The page answers 200 with its content for these headers (not a sign-in page)."""
    request = urllib.request.Request(base + page.path, headers=page.headers)
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        body = response.read().decode()
        assert response.status == 200, (page.path, response.status)
        assert response.url == base + page.path, f"redirected to {response.url}"
        assert page.expect in body, f"{page.path} lacks {page.expect!r}"


def wrk(base: str, page: Page, seconds: int) -> dict:
    """One wrk run of CLIENTS connections on the page; its JSON report."""
    command = ["wrk", f"-t{min(2, CLIENTS)}", f"-c{CLIENTS}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(WRK_SCRIPT)]
    for name, value in page.headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, base + page.path], capture_output=True, text=True,
                            check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(base: str, page: Page) -> dict[str, float]:
    """Warm up, then measure: rps, p50_ms, p95_ms."""
    check(base, page)
    wrk(base, page, WARM_S)
    report = wrk(base, page, RUN_S)
    assert report["socket_errors"] == 0 and report["http_errors"] == 0, report
    return {"rps": round(report["requests"] / (report["duration_us"] / 1e6), 1),
            "p50_ms": round(report["p50_us"] / 1000, 1),
            "p95_ms": round(report["p95_us"] / 1000, 1),
            "requests": report["requests"]}


def targets(results: dict) -> dict[str, bool]:
    """Per measured page: p95 under the target; list pages also a third of plain's rps."""
    met = {}
    plain_rps = results["plain"]["rps"]
    for name, figures in results.items():
        if not isinstance(figures, dict) or "rps" not in figures or name == "plain":
            continue
        ok = figures["p95_ms"] < P95_TARGET_MS
        if name in LIST_PAGES:
            ok = ok and figures["rps"] >= plain_rps / 3
        met[name] = ok
    return met


def fresh_cookies(app: Flask, shop: dict, loads: dict[str, Page | None], base: str) -> None:
    """New session cookies, kept as a browser keeps them: wrk resends one cookie unchanged,
    so it must be the one the server last set (a staff session's touch is a minute apart:
    each page's run is shorter)."""
    slug = shop["slug"]
    staff = settled(base, session_cookie(app, staff_values(shop), f"/t/{slug}/documents/invoices/"),
                    f"/t/{slug}/documents/invoices/")
    portal = settled(base, session_cookie(app, portal_values(shop), f"/p/{slug}/documents"),
                     f"/p/{slug}/documents")
    for name, page in loads.items():
        if page is not None and "Cookie" in page.headers:
            page.headers["Cookie"] = portal if name == "portal" else staff


def settled(base: str, cookie: str, path: str) -> str:
    """The cookie after the server stops changing it (the CSRF secret the page adds)."""
    for _ in range(3):
        request = urllib.request.Request(base + path, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            response.read()
            new = response.headers.get("Set-Cookie")
        if not new:
            return cookie
        cookie = new.split(";", 1)[0]
    raise RuntimeError(f"{path}: the server changes the session on every request")


def served_from_cache(base: str, page: Page) -> bool:
    """Whether the page, asked for twice more, came from the page cache the second time."""
    answers = []
    for _ in range(2):
        request = urllib.request.Request(base + page.path, headers=page.headers)
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            response.read()
            answers.append(response.headers.get("X-Page-Cache") == "hit")
    return answers[-1]


def measure_pages(app: Flask, shop: dict, loads: dict[str, Page | None], base: str,
                  cached: bool) -> dict[str, object]:
    results: dict[str, object] = {}
    for name, page in loads.items():
        if page is None:
            results[name] = {"available": False,
                             "reason": "no /api/v1/documents in this checkout"}
            continue
        fresh_cookies(app, shop, loads, base)
        figures = measure(base, page)
        figures["served_from_cache"] = served_from_cache(base, page)
        results[name] = figures
        print(f"{name}{'' if cached else ' (no page cache)'}: {figures}", flush=True)
    return results


def main() -> None:
    results: dict[str, object] = {
        "invoices": INVOICES, "lines_per_invoice": reports.PER_INVOICE, "clients": CLIENTS,
        "settings": {"gunicorn": " ".join(GUNICORN), "load_generator": f"wrk -t2 -c{CLIENTS}",
                     "warm_s": WARM_S, "run_s": RUN_S},
        "load_average_before": os.getloadavg()}
    with throwaway_app(SECRET_KEY=SECRET_KEY) as app:
        started = time.perf_counter()
        shop = seed(app)
        results["seed_s"] = round(time.perf_counter() - started, 1)
        print(f"seeded {INVOICES} invoices in {results['seed_s']} s", flush=True)
        loads = pages(app, shop)
        results["profile"] = {name: profile(app, page)
                              for name, page in loads.items() if page is not None}
        print(f"one request each: {results['profile']}", flush=True)
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "SECRET_KEY": SECRET_KEY, "APP_DB_ROLE": "saas_app", "REDIS_URL": REDIS_URL,
               # The load is the point here, not the per-token limit (600 a minute).
               "API_RATE_LIMIT": "1000000/minute"}
        env.pop("MIGRATION_DATABASE_URL", None)
        redis = Redis.from_url(REDIS_URL)
        redis.flushdb()
        try:
            with gunicorn("wsgi:app", {**env, "PAGE_CACHE": "1"}) as base:
                results.update(measure_pages(app, shop, loads, base, cached=True))
            with gunicorn("wsgi:app", {**env, "PAGE_CACHE": "0"}) as base:
                results["no_page_cache"] = measure_pages(app, shop, loads, base, cached=False)
            with gunicorn("plain_app:app", env) as plain:
                results["plain"] = measure(plain, Page("/", expect="Hello"))
                print(f"plain: {results['plain']}", flush=True)
        finally:
            redis.flushdb()
    results["targets"] = {"p95_ms_under": P95_TARGET_MS,
                          "list_pages_rps_at_least": "plain rps / 3"}
    met = targets(results)
    results["targets_met_by_page"] = met
    results["targets_met"] = all(met.values())
    results["load_average_after"] = os.getloadavg()
    # A scaled run writes load_N.json, leaving the figures alone.
    write_results("load" if INVOICES == 100_000 else f"load_{INVOICES}", results)

if __name__ == "__main__":
    sys.exit(main())
