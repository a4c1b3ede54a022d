"""Customers and products in and out as CSV: read, import all-or-nothing, export.

Imports work in the current tenant and never commit: the caller commits once, so a file
is imported whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import zip_longest
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from saas.billing.catalog import services as catalog_services
from saas.billing.catalog.models import Product, VatRate
from saas.billing.customers import services as customer_services
from saas.billing.customers.models import Contact, Customer, DeliveryPreference, Site
from saas.billing.imports import formats
from saas.billing.imports.formats import (
    COLUMNS,
    CustomerRecord,
    Kind,
    ParsedFile,
    ProductRecord,
    RowError,
    csv_line,
    plain_decimal,
    yes_no,
)
from saas.billing.imports.models import ImportRun, ImportStatus
from saas.extensions import db
from saas.forms import COUNTRY_CODES, CURRENCY_CODES, LANGUAGES
from saas.queue import job
from saas.tenants import audit, scoping
from saas.tenants.models import utcnow
from saas.tenants.services import ServiceError

EXPORT_BATCH = 500
PROGRESS_BATCH = 1000


# --- reading -------------------------------------------------------------------------------


def reference(kind: Kind) -> formats.Reference:
    """Load what a file of kind is checked against in the current tenant."""
    lists: dict[str, Any] = {
        "countries": frozenset(COUNTRY_CODES),
        "currencies": frozenset(CURRENCY_CODES),
        "languages": frozenset(LANGUAGES),
    }
    if kind is Kind.CUSTOMERS:
        return formats.Reference(
            **lists,
            customer_numbers=frozenset(db.session.scalars(select(Customer.number))),
            site_codes=frozenset(db.session.scalars(select(Site.code))),
        )
    rates = db.session.execute(select(VatRate.code, VatRate.is_archived)).all()
    return formats.Reference(
        **lists,
        skus=frozenset(db.session.scalars(select(Product.sku))),
        vat_codes=frozenset(code for code, archived in rates if not archived),
        archived_vat_codes=frozenset(code for code, archived in rates if archived),
    )


def read_file(kind: Kind, data: bytes) -> ParsedFile:
    """Read an uploaded file and check it against the current tenant's data."""
    known = reference(kind)
    return _check_skus_ignoring_case(formats.parse(kind, data, known), known)


def read_text(kind: Kind, text: str) -> ParsedFile:
    """Check an already decoded file again (at the confirm step, data may have changed)."""
    known = reference(kind)
    return _check_skus_ignoring_case(formats.parse_text(kind, text, known), known)


def _check_skus_ignoring_case(parsed: ParsedFile, known: formats.Reference) -> ParsedFile:
    """Add a row error for each SKU that differs only in case from an earlier or saved one.

    The catalog keeps a SKU once ignoring case (catalog_services.register_products refuses
    "abc-1" next to "ABC-1", as the product form does); the file check compares exactly and
    reports exact repeats itself.
    """
    if parsed.kind is not Kind.PRODUCTS or parsed.problem:
        return parsed
    saved = {sku.lower(): sku for sku in known.skus}
    first: dict[str, tuple[int, str]] = {}  # lower case: the first line and spelling
    exact: set[str] = set()
    added = []
    for record in parsed.records:
        sku = record.values["sku"]
        key = sku.lower()
        if sku and sku not in exact and sku not in known.skus:
            if key in first:
                line, spelling = first[key]
                added.append(RowError(record.line, "sku", sku,
                                      f"SKU {sku} is already used on line {line} as "
                                      f"{spelling}: SKUs are compared ignoring case."))
            elif key in saved:
                added.append(RowError(record.line, "sku", sku,
                                      f"SKU {sku} already exists as {saved[key]}: SKUs are "
                                      "compared ignoring case."))
        first.setdefault(key, (record.line, sku))
        exact.add(sku)
    if added:
        parsed.errors = sorted([*parsed.errors, *added], key=lambda error: error.line)
    return parsed


# --- importing -----------------------------------------------------------------------------


Progress = Callable[[int], None]


def _no_progress(done: int) -> None:
    return None


def import_file(parsed: ParsedFile, filename: str, progress: Progress = _no_progress) -> int:
    """Create every record of a checked file in the current tenant; return how many.

    Raises ServiceError when anything fails; the caller then rolls back, so nothing of
    the file stays.
    """
    if not parsed.ok:
        raise ServiceError("The file has errors: fix them and upload it again.")
    details: dict[str, Any] = {}
    try:
        if parsed.kind is Kind.CUSTOMERS:
            count = _import_customers(parsed.records, progress)
        else:
            count, new_categories = _import_products(parsed.records, progress)
            if new_categories:
                details["new_categories"] = new_categories
    except IntegrityError as exc:
        # Another request took a number, site code or SKU since the file was checked.
        raise ServiceError("A customer number, site code or SKU in the file was taken "
                           "meanwhile. Upload the file again to see which.") from exc
    noun = parsed.kind.value if count != 1 else parsed.kind.value.removesuffix("s")
    audit.record(f"import.{parsed.kind.value}",
                 summary=f"Imported {count} {noun} from {filename}", details=details)
    return count


def _import_customers(records: list[CustomerRecord], progress: Progress) -> int:
    category_ids: dict[str, int] = {}
    entries = []
    for record in records:
        values = dict(record.values)
        category = values.pop("category")
        if category and category not in category_ids:
            category_ids[category] = customer_services.category_named(category).id
        values["category_id"] = category_ids.get(category)
        values["delivery_preference"] = DeliveryPreference(values["delivery_preference"])
        entries.append((values, record.number, record.contacts, record.sites))
    # Numbers of the whole file are known up front, so chunks continue one series.
    highest = max((number for _, number, _, _ in entries if number is not None), default=0)
    done = 0
    for start in range(0, len(entries), PROGRESS_BATCH):
        chunk = entries[start:start + PROGRESS_BATCH]
        done += len(customer_services.register_customers(chunk, at_least=highest + 1))
        progress(done)
    return done


def _import_products(records: list[ProductRecord],
                     progress: Progress) -> tuple[int, list[str]]:
    """Create the file's products at once; return how many, and the categories added."""
    registered = catalog_services.register_products(
        ((record.line, record.values) for record in records), progress=progress)
    return registered.count, registered.new_categories


# --- exporting -----------------------------------------------------------------------------


def export_customers() -> Iterator[str]:
    """Stream the current tenant's active customers as a customers import file."""
    return _stream(scoping.require_tenant_id(), Kind.CUSTOMERS, _customer_lines)


def export_products() -> Iterator[str]:
    """Stream the current tenant's active products as a products import file."""
    return _stream(scoping.require_tenant_id(), Kind.PRODUCTS, _product_lines)


def _stream(tenant_id: int, kind: Kind, lines: Callable[[], Iterator[str]]) -> Iterator[str]:
    # The body is sent after the view has returned: enter the tenant explicitly rather
    # than rely on the request's scope still being in place.
    with scoping.tenant_context(tenant_id):
        # A byte order mark, so spreadsheets open the file as UTF-8; imports accept it.
        yield "\ufeff" + csv_line(COLUMNS[kind])
        yield from lines()


def _customer_lines() -> Iterator[str]:
    last_number = 0
    while True:
        batch = db.session.scalars(
            select(Customer)
            .where(Customer.is_archived == False, Customer.number > last_number)  # noqa: E712
            .order_by(Customer.number)
            .limit(EXPORT_BATCH)
            .options(selectinload(Customer.contacts), selectinload(Customer.sites),
                     selectinload(Customer.category))
        ).all()
        if not batch:
            return
        for customer in batch:
            for row in customer_rows(customer):
                yield csv_line(row.get(column, "") for column in COLUMNS[Kind.CUSTOMERS])
            db.session.expunge(customer)  # keep memory flat over large registers
        last_number = batch[-1].number


def customer_rows(customer: Customer) -> list[dict[str, str]]:
    """Write a customer as import rows: its details first, then one per extra contact/site."""
    rows = []
    pairs = list(zip_longest(customer.contacts, customer.sites)) or [(None, None)]
    for index, (contact, site) in enumerate(pairs):
        row = _customer_cells(customer) if index == 0 else {"number": str(customer.number)}
        if contact is not None:
            row.update(_contact_cells(contact))
        if site is not None:
            row.update(_site_cells(site))
        rows.append(row)
    return rows


# Customer columns written as they are stored; the others are formatted one by one.
_TEXT_COLUMNS = tuple(
    name for name in formats.CUSTOMER_OWN_COLUMNS
    if name not in {"category", "discount_percent", "payment_terms_days", "delivery_preference"}
)


def _customer_cells(customer: Customer) -> dict[str, str]:
    cells = {name: getattr(customer, name) or "" for name in _TEXT_COLUMNS}
    cells.update({
        "number": str(customer.number),
        "payment_terms_days": str(customer.payment_terms_days),
        "category": customer.category.name if customer.category else "",
        "discount_percent": plain_decimal(customer.discount_percent),
        "delivery_preference": DeliveryPreference(customer.delivery_preference).value,
    })
    return cells


def _contact_cells(contact: Contact) -> dict[str, str]:
    return {
        "contact_name": contact.name,
        "contact_email": contact.email,
        "contact_phone": contact.phone,
        "contact_receives_invoices": yes_no(contact.receives_invoices),
        "contact_portal_access": yes_no(contact.portal_access),
    }


def _site_cells(site: Site) -> dict[str, str]:
    return {
        "site_code": site.code,
        "site_name": site.name,
        "site_address": site.address_line1,
        "site_postal_code": site.postal_code,
        "site_city": site.city,
        "site_country": site.country,
    }


def _product_lines() -> Iterator[str]:
    last_id = 0
    while True:
        batch = db.session.scalars(
            select(Product)
            .where(Product.is_archived == False, Product.id > last_id)  # noqa: E712
            .order_by(Product.id)
            .limit(EXPORT_BATCH)
            .options(selectinload(Product.category), selectinload(Product.vat_rate))
        ).all()
        if not batch:
            return
        for product in batch:
            yield csv_line(product_row(product).get(column, "")
                           for column in COLUMNS[Kind.PRODUCTS])
            db.session.expunge(product)
        last_id = batch[-1].id


def product_row(product: Product) -> dict[str, str]:
    """Write a product as an import row."""
    return {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "unit": product.unit,
        "category": product.category.name if product.category else "",
        "vat_code": product.vat_rate.code,
        "base_price": plain_decimal(product.base_price, 2),
        "currency": product.currency,
        "cost_price": plain_decimal(product.cost_price, 2),
        "quantity_increment": plain_decimal(product.quantity_increment),
        "minimum_quantity": plain_decimal(product.minimum_quantity),
    }


# --- large files: a background job with progress -------------------------------------------


def start_import_run(kind: Kind, filename: str, total: int, user_id: int | None) -> ImportRun:
    """Record a confirmed file and ask a job to import it (after this transaction commits)."""
    run = ImportRun(kind=kind.value, filename=filename, total=total, created_by_id=user_id)
    db.session.add(run)
    db.session.flush()
    return run


@job
def run_import(run_id: int, text: str) -> None:
    """Background job: import a confirmed file whole or not at all, reporting progress."""
    run = db.session.get(ImportRun, run_id)
    if run is None or run.status is not ImportStatus.QUEUED:
        return  # done already, or running elsewhere: running twice changes nothing
    run.status = ImportStatus.RUNNING
    db.session.commit()
    tenant_id = run.tenant_id
    parsed = read_text(Kind(run.kind), text)
    message, count = "", 0
    if not parsed.ok:
        message = (f"{len(parsed.errors)} rows clash with data saved since the preview. "
                   "Upload the file again to see them.")
    else:
        try:
            count = import_file(parsed, run.filename,
                                lambda done: _report_progress(tenant_id, run_id, done))
        except (ServiceError, IntegrityError) as exc:
            db.session.rollback()
            message = (str(exc) if isinstance(exc, ServiceError)
                       else "A row clashed with saved data.")
    run = db.session.get(ImportRun, run_id)
    run.status = ImportStatus.FAILED if message else ImportStatus.DONE
    run.message = f"Nothing was imported. {message}" if message else ""
    run.done = count
    run.finished_at = utcnow()


def _report_progress(tenant_id: int, run_id: int, done: int) -> None:
    # On a connection of its own: the import's transaction is committed only at the end,
    # but the page polling for progress must see it move.
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                               {"t": str(tenant_id)})
        connection.execute(
            text("UPDATE import_runs SET done = :done WHERE id = :id AND tenant_id = :t"),
            {"done": done, "id": run_id, "t": tenant_id},
        )
