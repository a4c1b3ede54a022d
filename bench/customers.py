"""Customer list search at volume: 50,000 customers in each of two tenants, 1,000 in a third.

Times whole list requests (routing, tenant and membership checks, the search query with
its count for the pager, rendering) through the app as a signed-in staff member, for a mix
of searches: a name word, a number, part of an e-mail, a site code, a two-word query, and
the unfiltered first page. Writes bench/results/customers.json with search_p50_ms,
search_p95_ms (big tenant) and small_tenant_p95_ms (the same searches on 1,000 customers).
"""

from __future__ import annotations

import random
import time

from harness import percentiles, throwaway_app, write_results
from sqlalchemy import create_engine, insert, text

from saas.billing.customers.models import Contact, Customer, CustomerSearchTerm, Site
from saas.billing.customers.services import search_terms
from saas.extensions import db
from saas.tenants import scoping, services
from saas.tenants.models import Role

BIG, SMALL = 50_000, 1_000
REQUESTS = 300
WORDS = ("nord", "fjell", "havn", "bygg", "elektro", "rør", "vakt", "sikring", "data", "regn",
         "skog", "bro", "sol", "vind", "stein", "lys", "berg", "dal", "holm", "vik")
FORMS = ("AS", "ASA", "Sp. z o.o.", "s.r.o.", "SRL", "d.o.o.", "ANS", "DA")
CITIES = ("Oslo", "Bergen", "Trondheim", "Warszawa", "Kraków", "Praha", "Brno", "Beograd",
          "Cluj", "Tromsø")


def seed(tenant_id: int, count: int, rng: random.Random) -> None:
    """Bulk-insert count customers with a contact and a site each (search_text filled)."""
    with scoping.tenant_context(tenant_id):
        rows = []
        for n in range(count):
            name = f"{rng.choice(WORDS).capitalize()}{rng.choice(WORDS)} {rng.choice(FORMS)}"
            number = 10001 + n
            email = f"post{n}@{name.split()[0].lower()}.example"
            site = f"S{n:06d}"
            rows.append({
                "tenant_id": tenant_id, "number": number, "name": name, "country": "NO",
                "currency": "NOK", "city": rng.choice(CITIES), "is_archived": n % 50 == 0,
                "search_text": f"{name} {number} {email} {site} lager".lower(),
            })
        for start in range(0, count, 5000):
            db.session.execute(insert(Customer), rows[start:start + 5000])
        ids = db.session.execute(
            text("SELECT id, number FROM customers WHERE tenant_id = :t ORDER BY number"),
            {"t": tenant_id},
        ).all()
        db.session.execute(insert(Contact), [
            {"tenant_id": tenant_id, "customer_id": cid, "name": "Kontakt",
             "email": f"post{number - 10001}@example.no"} for cid, number in ids
        ])
        db.session.execute(insert(Site), [
            {"tenant_id": tenant_id, "customer_id": cid, "code": f"S{number - 10001:06d}",
             "name": "Lager"} for cid, number in ids
        ])
        rows = db.session.execute(
            text("SELECT id, search_text, name, is_archived FROM customers"
                 " WHERE tenant_id = :t"), {"t": tenant_id}
        ).all()
        terms = [{"tenant_id": tenant_id, "customer_id": cid, "term": term, "name": name,
                  "is_archived": archived}
                 for cid, words, name, archived in rows for term in search_terms(words)]
        for start in range(0, len(terms), 20000):
            db.session.execute(insert(CustomerSearchTerm), terms[start:start + 20000])
        db.session.commit()


KINDS = ("word", "number", "email", "site", "two words", "no query")


def analyze(app) -> None:
    """Vacuum and gather statistics as the owner (the app role may not), as autovacuum would."""
    owner = create_engine(app.config["MIGRATION_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    owner.dispose()


def queries(rng: random.Random, count: int) -> list[str]:
    kinds = [
        lambda: rng.choice(WORDS),
        lambda: str(10001 + rng.randrange(SMALL)),
        lambda: f"post{rng.randrange(SMALL)}@",
        lambda: f"s{rng.randrange(SMALL):06d}",
        lambda: f"{rng.choice(WORDS)} {rng.choice(FORMS).split()[0].lower()}",
        lambda: "",
    ]
    return [kinds[i % len(kinds)]() for i in range(count)]


def time_requests(client, slug: str, searches: list[str]) -> list[float]:
    timings = []
    for query in searches:
        start = time.perf_counter()
        response = client.get(f"/t/{slug}/customers/", query_string={"q": query},
                              headers={"HX-Request": "true", "HX-Target": "customer-results"})
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return timings


def main() -> None:
    rng = random.Random(2026)
    with throwaway_app(WTF_CSRF_ENABLED=False) as app:
        big = services.create_tenant("Big Bureau Client")
        other = services.create_tenant("Other Big Tenant")
        small = services.create_tenant("Small Business")
        user = services.create_user("bench@example.com", "Bench", "bench-password")
        for tenant in (big, other, small):
            services.add_member(tenant, user, Role.STAFF)
        db.session.commit()
        started = time.perf_counter()
        seed(big.id, BIG, rng)
        seed(other.id, BIG, rng)
        seed(small.id, SMALL, rng)
        analyze(app)
        print(f"seeded {2 * BIG + SMALL} customers in {time.perf_counter() - started:.1f} s")

        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(user.id)
        searches = queries(rng, REQUESTS)
        time_requests(client, big.slug, searches[:20])  # warm caches and prepared plans
        big_ms = time_requests(client, big.slug, searches)
        small_ms = time_requests(client, small.slug, searches)

    big_p, small_p = percentiles(big_ms), percentiles(small_ms)
    by_kind = {
        kind: percentiles(big_ms[i::len(KINDS)])["p95"] for i, kind in enumerate(KINDS)
    }
    write_results("customers", {
        "customers_per_big_tenant": BIG,
        "customers_small_tenant": SMALL,
        "requests": REQUESTS,
        "search_p50_ms": big_p["p50"],
        "search_p95_ms": big_p["p95"],
        "small_tenant_p50_ms": small_p["p50"],
        "small_tenant_p95_ms": small_p["p95"],
        "ratio_p95": round(big_p["p95"] / small_p["p95"], 2),
        "search_p95_ms_by_kind": by_kind,
    })


if __name__ == "__main__":
    main()
