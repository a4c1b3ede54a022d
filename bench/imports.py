"""CSV import at volume: N customers (each with a contact and a site), then N products.

Parses and imports generated files in one transaction each, as the confirm step does, and
writes bench/results/imports.json with rows, parse_s, import_s and ms_per_customer for the
customers, and products_import_s and ms_per_product for the products (N of them, in 20
categories of which 10 are new, on two VAT rates).
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal

from harness import throwaway_app, write_results

from saas.billing.catalog import services as catalog
from saas.billing.catalog.models import ProductCategory, VatCategory
from saas.billing.imports import services as imports
from saas.billing.imports.formats import Kind
from saas.extensions import db
from saas.tenants import scoping, services

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
HEADER = ("name,country,currency,city,contact_name,contact_email,site_code,site_name")
PRODUCT_HEADER = ("sku,name,unit,category,vat_code,base_price,currency,cost_price,"
                  "quantity_increment")


def main() -> None:
    lines = [HEADER] + [
        f"Kunde {n} AS,NO,NOK,Oslo,Kontakt {n},kontakt{n}@example.no,S-{n:06d},Lager {n}"
        for n in range(ROWS)
    ]
    data = ("\n".join(lines) + "\n").encode()
    product_lines = [PRODUCT_HEADER] + [
        f"P-{n:06d},Vare {n},pcs,Gruppe {n % 20},{'S25' if n % 3 else 'R15'},"
        f"{100 + n % 997}.50,NOK,{50 + n % 97},{'0.25' if n % 2 else ''}"
        for n in range(ROWS)
    ]
    product_data = ("\n".join(product_lines) + "\n").encode()
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

            for code, rate in (("S25", "25"), ("R15", "15")):
                catalog.create_vat_rate({"code": code, "name": code, "rate": Decimal(rate),
                                         "category": VatCategory.STANDARD})
            for n in range(10):  # half the file's categories exist, half are new
                db.session.add(ProductCategory(name=f"Gruppe {n}"))
            db.session.commit()
            parsed = imports.read_file(Kind.PRODUCTS, product_data)
            assert not parsed.errors, parsed.errors[:3]
            products_started = time.perf_counter()
            product_count = imports.import_file(parsed, "products.csv")
            db.session.commit()
            products_done = time.perf_counter()
    products_s = products_done - products_started
    write_results("imports", {
        "rows": count,
        "parse_s": round(parsed_at - started, 2),
        "import_s": round(done - parsed_at, 2),
        "ms_per_customer": round((done - parsed_at) * 1000 / count, 2),
        "products_import_s": round(products_s, 2),
        "ms_per_product": round(products_s * 1000 / product_count, 2),
    })


if __name__ == "__main__":
    main()
