"""The sales reports at volume: each report page on 1,000,000 invoice lines in one tenant.

Seeds a throwaway PostgreSQL database (bench/harness.py) with one tenant (NOK), through the
services, and then in bulk with binary ``COPY`` as the owner (bench/reminders.py's
``copy_rows``; row-level security un-forced for the load and forced again in the same
transaction): 20 product categories, 500 products (half with a cost price), 5,000
customers over 12 regions and 60 postcode areas, 2,000 sites, 1,000 contracts; 100,000
issued invoices of 10 lines each (``LINES`` in all: product, site and contract on most
lines) spread evenly over the 24 months of 2025 and 2026; 20,000 quotes of one line, half
of them made into orders; 100,000 deliveries (four in five by e-mail). VACUUM ANALYZE
follows the load, as autovacuum would after it.

Each report page is then asked for as a signed-in accountant through the app (the test
client: routing, access checks, the query, the chart, the template), for the month of
November 2026 (about 41,700 lines, against October's), three times after one warm-up
request; the figure is the slowest of the three, in seconds. The monthly pack (seven
reports, PDF) is timed once as ``pack_s``.

Figures (bench/results/reports.json): one key per report page, its seconds —
``sales_by_customer`` … ``sales_by_postcode``, ``profitability_by_customer``,
``profitability_by_product``, ``quotes``, ``unpaid``, ``deliveries`` — and ``pack_s``,
``lines``, ``seed_s``.
"""

from __future__ import annotations

import random
import secrets
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
from harness import throwaway_app, write_results
from reminders import copy_rows
from sqlalchemy import make_url

from saas.billing.catalog.models import Product, ProductCategory, VatCategory, VatRate
from saas.billing.contracts.models import Contract
from saas.billing.customers.models import Customer, Site
from saas.billing.documents.models import Delivery, Document, DocumentLine
from saas.billing.reports.pack import build_report_pack
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants import services as tenant_services
from saas.tenants.models import Role

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
PER_INVOICE = 10
CUSTOMERS, PRODUCTS, SITES, CONTRACTS = 5_000, 500, 2_000, 1_000
MONTHS = [date(2025 + m // 12, m % 12 + 1, 1) for m in range(24)]
REGIONS = (
    "Oslo",
    "Vestland",
    "Rogaland",
    "Trøndelag",
    "Viken",
    "Agder",
    "Innlandet",
    "Nordland",
    "Troms",
    "Finnmark",
    "Vestfold",
    "Telemark",
)
PAGES = {
    f"sales_by_{by}": f"sales?by={by}"
    for by in ("customer", "product", "category", "site", "contract", "region", "postcode")
} | {
    "profitability_by_customer": "profitability?by=customer",
    "profitability_by_product": "profitability?by=product",
    "quotes": "quotes",
    "unpaid": "unpaid?on=2026-11-30",
    "deliveries": "deliveries",
}
PERIOD = "from=2026-11-01&to=2026-11-30"
TABLES = (
    "product_categories",
    "products",
    "customers",
    "sites",
    "contracts",
    "documents",
    "document_lines",
    "deliveries",
)


def seed_tenant() -> dict:
    tenant = tenant_services.create_tenant("Volume Reports AS", currency="NOK")
    user = tenant_services.create_user("reports@example.com", "Bench", "bench-password")
    tenant_services.add_member(tenant, user, Role.ACCOUNTANT)
    with scoping.tenant_context(tenant.id):
        vat = VatRate(
            code="S25", name="Standard", rate=Decimal("25.00"), category=VatCategory.STANDARD
        )
        db.session.add(vat)
        db.session.flush()
        shop = {"tenant": tenant.id, "slug": tenant.slug, "vat": vat.id, "user": user.id}
    db.session.commit()
    return shop


def _ids(cursor: psycopg.Cursor, table: str) -> list[int]:
    cursor.execute(f"SELECT id FROM {table} ORDER BY id")  # noqa: S608 - our table names
    return [row[0] for row in cursor.fetchall()]


def seed_bulk(owner_url: str, shop: dict) -> None:
    rng = random.Random(2026)
    t, vat = shop["tenant"], shop["vat"]
    now = datetime.now(UTC)
    conninfo = (
        make_url(owner_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        # Lines of issued documents are refused by a trigger: the load writes them after
        # their documents (the triggers off for the load).
        cursor.execute("ALTER TABLE document_lines DISABLE TRIGGER USER")
        copy_rows(
            cursor,
            ProductCategory,
            ("tenant_id", "name"),
            ((t, f"Category {n}") for n in range(20)),
        )
        categories = _ids(cursor, "product_categories")
        prices = [Decimal(rng.randrange(1_000, 100_000)).scaleb(-2) for _ in range(PRODUCTS)]
        copy_rows(
            cursor,
            Product,
            (
                "tenant_id",
                "sku",
                "name",
                "category_id",
                "vat_rate_id",
                "base_price",
                "currency",
                "cost_price",
            ),
            (
                (
                    t,
                    f"P{n:05d}",
                    f"Product {n}",
                    categories[n % 20],
                    vat,
                    prices[n],
                    "NOK",
                    (prices[n] * Decimal("0.6")).quantize(Decimal("0.01")) if n % 2 else None,
                )
                for n in range(PRODUCTS)
            ),
        )
        products = _ids(cursor, "products")
        copy_rows(
            cursor,
            Customer,
            (
                "tenant_id",
                "number",
                "name",
                "country",
                "currency",
                "postal_code",
                "city",
                "region",
                "search_text",
            ),
            (
                (
                    t,
                    10001 + n,
                    f"Customer {n} AS",
                    "NO",
                    "NOK",
                    f"{n % 60 + 10:02d}{n % 100:02d}",
                    "By",
                    REGIONS[n % len(REGIONS)],
                    f"customer {n}",
                )
                for n in range(CUSTOMERS)
            ),
        )
        customers = _ids(cursor, "customers")
        copy_rows(
            cursor,
            Site,
            ("tenant_id", "customer_id", "code", "name"),
            ((t, customers[n % CUSTOMERS], f"S{n:05d}", f"Site {n}") for n in range(SITES)),
        )
        sites = _ids(cursor, "sites")
        copy_rows(
            cursor,
            Contract,
            ("tenant_id", "number", "customer_id", "title", "start_date", "currency"),
            (
                (
                    t,
                    f"C-{n:05d}",
                    customers[n % CUSTOMERS],
                    f"Services {n}",
                    date(2024, 1, 1),
                    "NOK",
                )
                for n in range(CONTRACTS)
            ),
        )
        contracts = _ids(cursor, "contracts")

        invoices = LINES // PER_INVOICE
        headers, lines = [], []
        for n in range(invoices):
            month = MONTHS[n * len(MONTHS) // invoices]
            issued = month + timedelta(days=n % 28)
            customer = customers[rng.randrange(CUSTOMERS)]
            net = Decimal(0)
            for position in range(PER_INVOICE):
                p = rng.randrange(PRODUCTS)
                quantity = Decimal(rng.randrange(1, 5))
                line_net = prices[p] * quantity
                net += line_net
                lines.append(
                    [
                        t,
                        n,
                        position,
                        products[p],
                        f"Product {p}",
                        quantity,
                        prices[p],
                        line_net,
                        vat,
                        "S25",
                        Decimal(25),
                        "S",
                        sites[rng.randrange(SITES)] if position % 3 else None,
                        contracts[rng.randrange(CONTRACTS)] if position % 2 else None,
                    ]
                )
            gross = (net * Decimal("1.25")).quantize(Decimal("0.01"))
            paid = gross if issued < date(2026, 10, 1) or n % 3 else Decimal(0)
            status = "paid" if paid else "issued"
            headers.append(
                (
                    t,
                    "invoice",
                    status,
                    f"INV-{n:07d}",
                    n + 1,
                    str(issued.year),
                    customer,
                    "NOK",
                    "NOK",
                    issued,
                    issued + timedelta(days=14),
                    net,
                    gross - net,
                    gross,
                    paid,
                    secrets.token_hex(16),
                    now,
                )
            )
        for n in range(20_000):
            issued = MONTHS[n * len(MONTHS) // 20_000] + timedelta(days=n % 28)
            amount = prices[n % PRODUCTS]
            headers.append(
                (
                    t,
                    "quote",
                    "converted" if n % 2 else "sent",
                    f"Q-{n:06d}",
                    n + 1,
                    str(issued.year),
                    customers[n % CUSTOMERS],
                    "NOK",
                    "NOK",
                    issued,
                    None,
                    amount,
                    amount / 4,
                    amount * Decimal("1.25"),
                    Decimal(0),
                    secrets.token_hex(16),
                    now,
                )
            )
        copy_rows(
            cursor,
            Document,
            (
                "tenant_id",
                "kind",
                "status",
                "number",
                "counter",
                "period",
                "customer_id",
                "currency",
                "tenant_currency",
                "issue_date",
                "due_date",
                "net_total",
                "vat_total",
                "gross_total",
                "paid_total",
                "public_id",
                "created_at",
            ),
            headers,
        )
        documents = _ids(cursor, "documents")
        quotes = documents[invoices:]
        copy_rows(
            cursor,
            Document,
            (
                "tenant_id",
                "kind",
                "status",
                "number",
                "counter",
                "period",
                "customer_id",
                "currency",
                "tenant_currency",
                "issue_date",
                "net_total",
                "gross_total",
                "paid_total",
                "public_id",
                "source_id",
                "created_at",
            ),
            (
                (
                    t,
                    "order",
                    "confirmed",
                    f"O-{n:06d}",
                    n + 1,
                    "2026",
                    headers[invoices + n][6],
                    "NOK",
                    "NOK",
                    headers[invoices + n][9] + timedelta(days=3),
                    headers[invoices + n][11],
                    headers[invoices + n][13],
                    Decimal(0),
                    secrets.token_hex(16),
                    quotes[n],
                    now,
                )
                for n in range(1, 20_000, 2)
            ),
        )
        for line in lines:
            line[1] = documents[line[1]]
        copy_rows(
            cursor,
            DocumentLine,
            (
                "tenant_id",
                "document_id",
                "position",
                "product_id",
                "description",
                "quantity",
                "unit_price",
                "net",
                "vat_rate_id",
                "vat_code",
                "vat_rate",
                "vat_category",
                "site_id",
                "contract_id",
            ),
            (tuple(line) for line in lines),
        )
        copy_rows(
            cursor,
            Delivery,
            ("tenant_id", "document_id", "channel", "recipient", "subject", "status", "created_at"),
            (
                (
                    t,
                    documents[n],
                    "post" if n % 5 == 0 else "email",
                    "x@example.no",
                    "Invoice",
                    "sent",
                    datetime.combine(headers[n][9], datetime.min.time(), UTC),
                )
                for n in range(0, invoices)
            ),
        )
        cursor.execute("ALTER TABLE document_lines ENABLE TRIGGER USER")
        for table in TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
            cursor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        connection.commit()
        connection.autocommit = True
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


def main() -> None:
    results: dict[str, object] = {"lines": LINES}
    with throwaway_app(WTF_CSRF_ENABLED=False) as app:
        shop = seed_tenant()
        started = time.perf_counter()
        seed_bulk(app.config["MIGRATION_DATABASE_URL"], shop)
        results["seed_s"] = round(time.perf_counter() - started, 1)
        print(f"seeded {LINES} invoice lines in {results['seed_s']} s")
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(shop["user"])
        for key, path in PAGES.items():
            url = f"/t/{shop['slug']}/reports/{path}{'&' if '?' in path else '?'}{PERIOD}"
            client.get(url)  # warm-up: plans, templates
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, (url, response.status_code)
                assert "<svg" in response.text, url
            results[key] = round(max(timings), 3)
            print(f"{key}: {results[key]} s")
        started = time.perf_counter()
        pdf = build_report_pack(shop["tenant"], "2026-11")
        results["pack_s"] = round(time.perf_counter() - started, 3)
        assert pdf.startswith(b"%PDF")
    write_results("reports", results)


if __name__ == "__main__":
    main()
