"""Customer CSV import at volume: N customers, each with a contact and a site.

Parses and imports a generated file in one transaction, as the confirm step does, and
writes bench/results/imports.json with rows, parse_s, import_s and ms_per_customer.
"""

from __future__ import annotations

import sys
import time

from harness import throwaway_app, write_results

from saas.billing.imports import services as imports
from saas.billing.imports.formats import Kind
from saas.extensions import db
from saas.tenants import scoping, services

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
HEADER = ("name,country,currency,city,contact_name,contact_email,site_code,site_name")


def main() -> None:
    lines = [HEADER] + [
        f"Kunde {n} AS,NO,NOK,Oslo,Kontakt {n},kontakt{n}@example.no,S-{n:06d},Lager {n}"
        for n in range(ROWS)
    ]
    data = ("\n".join(lines) + "\n").encode()
    with throwaway_app() as app:
        tenant = services.create_tenant("Import Bench AS")
        db.session.commit()
        with app.test_request_context(), scoping.tenant_context(tenant.id):
            started = time.perf_counter()
            parsed = imports.read_file(Kind.CUSTOMERS, data)
            parsed_at = time.perf_counter()
            assert not parsed.errors, parsed.errors[:3]
            count = imports.import_file(parsed, "bench.csv")
            db.session.commit()
            done = time.perf_counter()
    write_results("imports", {
        "rows": count,
        "parse_s": round(parsed_at - started, 2),
        "import_s": round(done - parsed_at, 2),
        "ms_per_customer": round((done - parsed_at) * 1000 / count, 2),
    })


if __name__ == "__main__":
    main()
