"""CSV files of customers and products: columns, reading and checking every row (pure).

No Flask, no database: what a file is checked against (the app's code lists and what the
tenant already has) comes in as a Reference, and the answer is a ParsedFile holding either
one problem with the whole file, or the records and every row error with its line number
as a spreadsheet shows it (the header is line 1).

Customers file: one row per customer. A row continues the customer above it, adding a
further contact and/or site, when its number repeats that customer's number (its other
customer columns must then be empty or repeat the customer's first row), or when its
number and all its customer columns are empty.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from email_validator import EmailNotValidError, validate_email

from saas.tenants import validation

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
PREVIEW_ROWS = 10
NOT_UTF8 = "The file is not UTF-8 text: save it as 'CSV UTF-8' and try again"


class Kind(enum.StrEnum):
    CUSTOMERS = "customers"
    PRODUCTS = "products"

    @property
    def label(self) -> str:
        return self.value.capitalize()


CONTACT_COLUMNS = ("contact_name", "contact_email", "contact_phone",
                   "contact_receives_invoices", "contact_portal_access")
SITE_COLUMNS = ("site_code", "site_name", "site_address", "site_postal_code", "site_city",
                "site_country")
CUSTOMER_COLUMNS = (
    "number", "name", "org_number", "vat_id", "country", "address_line1", "address_line2",
    "postal_code", "city", "delivery_address_line1", "delivery_address_line2",
    "delivery_postal_code", "delivery_city", "delivery_country", "language", "currency",
    "payment_terms_days", "category", "discount_percent", "delivery_preference", "region",
    "notes", *CONTACT_COLUMNS, *SITE_COLUMNS,
)
PRODUCT_COLUMNS = ("sku", "name", "description", "unit", "category", "vat_code", "base_price",
                   "currency", "cost_price", "quantity_increment", "minimum_quantity")
COLUMNS = {Kind.CUSTOMERS: CUSTOMER_COLUMNS, Kind.PRODUCTS: PRODUCT_COLUMNS}
REQUIRED_COLUMNS = {
    Kind.CUSTOMERS: ("name", "country", "currency"),
    Kind.PRODUCTS: ("sku", "name", "vat_code", "base_price", "currency"),
}
# The columns the preview table shows (all columns would not fit on a screen).
PREVIEW_COLUMNS = {
    Kind.CUSTOMERS: ("number", "name", "country", "currency", "city", "contact_name",
                     "contact_email", "site_code", "site_name"),
    Kind.PRODUCTS: ("sku", "name", "unit", "category", "vat_code", "base_price", "currency"),
}
# Columns of a customer row that describe the customer itself (not a contact or a site).
CUSTOMER_OWN_COLUMNS = tuple(
    c for c in CUSTOMER_COLUMNS if c not in CONTACT_COLUMNS + SITE_COLUMNS + ("number",)
)
DELIVERY_PREFERENCES = ("email", "post", "both")
TRUE_WORDS = frozenset({"yes", "true", "1"})
FALSE_WORDS = frozenset({"no", "false", "0"})
MAX_CUSTOMER_NUMBER = 2_147_483_647  # the column is a 32-bit integer
NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Reference:
    """What a file is checked against: the app's code lists and what the tenant has."""

    countries: frozenset[str]
    currencies: frozenset[str]
    languages: frozenset[str]
    customer_numbers: frozenset[int] = frozenset()
    site_codes: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    vat_codes: frozenset[str] = frozenset()
    archived_vat_codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RowError:
    """One fault in one cell (column "" when it concerns the whole row)."""

    line: int
    column: str
    value: str
    message: str


@dataclass(frozen=True)
class Row:
    """A data row as written in the file, by column name, cells stripped."""

    line: int
    cells: dict[str, str]
    fault: str = ""  # set when the row cannot be split into the header's columns


@dataclass
class CustomerRecord:
    """A customer to create: Customer fields ("category" is a name), contacts and sites."""

    line: int
    number: int | None
    values: dict[str, Any]
    contacts: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ProductRecord:
    """A product to create: Product fields, with "category" a name and "vat_code" a code."""

    line: int
    values: dict[str, Any]


@dataclass
class ParsedFile:
    """A read file: a problem with the whole of it, or its rows, records and row errors."""

    kind: Kind
    problem: str = ""
    delimiter: str = ","
    text: str = field(default="", repr=False)  # the decoded file, carried to the confirm step
    rows: list[Row] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problem and not self.errors

    @property
    def preview(self) -> list[Row]:
        return self.rows[:PREVIEW_ROWS]

    @cached_property
    def lines_with_errors(self) -> frozenset[int]:
        return frozenset(error.line for error in self.errors)

    def count(self, part: str) -> int:
        """Count contacts or sites over all customer records."""
        return sum(len(getattr(record, part)) for record in self.records)


class FileProblem(ValueError):
    """The file as a whole cannot be read; nothing in it is imported."""


# --- reading the file ----------------------------------------------------------------------


def parse(kind: Kind, data: bytes, reference: Reference) -> ParsedFile:
    """Read an uploaded file of kind and check every row against reference."""
    try:
        if len(data) > MAX_BYTES:
            raise FileProblem(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB: "
                              "split it into smaller files.")
        text = decode(data)
    except FileProblem as exc:
        return ParsedFile(kind, problem=str(exc))
    return parse_text(kind, text, reference)


def decode(data: bytes) -> str:
    """Decode UTF-8 with or without a byte order mark, or raise FileProblem."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(NOT_UTF8) from exc


def parse_text(kind: Kind, text: str, reference: Reference) -> ParsedFile:
    """Check every row of a decoded file of kind against reference."""
    text = text.removeprefix("\ufeff")
    delimiter = sniff_delimiter(text)
    try:
        rows = read_rows(kind, text, delimiter)
    except FileProblem as exc:
        return ParsedFile(kind, problem=str(exc), delimiter=delimiter)
    parsed = ParsedFile(kind, delimiter=delimiter, text=text, rows=rows)
    check = _check_customers if kind is Kind.CUSTOMERS else _check_products
    parsed.records, parsed.errors = check(rows, reference, decimal_comma=delimiter == ";")
    return parsed


def sniff_delimiter(text: str) -> str:
    """Tell "," from ";" by the header line (spreadsheets in decimal-comma locales use ";")."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def read_rows(kind: Kind, text: str, delimiter: str) -> list[Row]:
    """Split the file into rows by column name; raise FileProblem for the file's faults."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(_limited(reader))
    except csv.Error as exc:
        raise FileProblem(f"Line {reader.line_num}: the file is not valid CSV ({exc}).") from exc
    header = [name.strip().lower() for name in records[0]] if records else []
    while header and not header[-1]:
        header.pop()  # trailing delimiters after the last column name
    if not header:
        raise FileProblem("The file is empty: the first line must name the columns.")
    _check_header(kind, header)
    rows = []
    for index, cells in enumerate(records[1:], start=2):
        values = [cell.strip() for cell in cells]
        if not any(values):
            continue  # blank lines and rows of empty cells, as spreadsheets write them
        fault = ""
        if any(values[len(header):]):
            fault = (f"This row has {len(values)} values for {len(header)} columns: "
                     "quote values that contain the delimiter.")
        values += [""] * (len(header) - len(values))
        rows.append(Row(index, dict(zip(header, values, strict=False)), fault))
    if not rows:
        raise FileProblem("The file has a header but no rows to import.")
    return rows


def _limited(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    for count, record in enumerate(reader):
        if count > MAX_ROWS:  # the header plus MAX_ROWS data rows are allowed
            raise FileProblem(f"The file has more than {MAX_ROWS:,} rows: "
                              "split it into smaller files.")
        yield record


def _check_header(kind: Kind, header: list[str]) -> None:
    known = COLUMNS[kind]
    if "" in header:
        raise FileProblem(f"Column {header.index('') + 1} has no name in the header line.")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise FileProblem(f"Columns named twice: {', '.join(repeated)}.")
    faults = []
    missing = [name for name in REQUIRED_COLUMNS[kind] if name not in header]
    if missing:
        faults.append(f"Required columns are missing: {', '.join(missing)}.")
    unknown = [name for name in header if name not in known]
    if unknown:
        faults.append(f"Unknown columns: {', '.join(unknown)}. "
                      f"A {kind.value} file may have: {', '.join(known)}.")
    if faults:
        raise FileProblem(" ".join(faults))


# --- reading cells -------------------------------------------------------------------------


class _Cells:
    """One row's cells, read by type; each fault becomes a RowError on the row's line."""

    def __init__(self, row: Row, errors: list[RowError], decimal_comma: bool) -> None:
        self.row = row
        self.errors = errors
        self.decimal_comma = decimal_comma

    def __getitem__(self, column: str) -> str:
        return self.row.cells.get(column, "")

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row.line, column, self[column], message))

    def text(self, column: str, max_length: int, required: bool = False) -> str:
        value = self[column]
        if required and not value:
            self.fail(column, "Required.")
        elif len(value) > max_length:
            self.fail(column, f"Too long: at most {max_length} characters.")
        return value

    def code(self, column: str, allowed: Iterable[str], upper: bool = True,
             required: bool = False, what: str = "code") -> str:
        value = self[column].upper() if upper else self[column].lower()
        if not value:
            if required:
                self.fail(column, "Required.")
        elif value not in allowed:
            self.fail(column, f"Unknown {what}: use one of {', '.join(sorted(allowed))}.")
        return value

    def integer(self, column: str, low: int, high: int) -> int | None:
        value = self[column]
        if not value:
            return None
        if not re.fullmatch(r"\d+", value) or not low <= int(value) <= high:
            self.fail(column, f"Use a whole number from {low} to {high}.")
            return None
        return int(value)

    def decimal(self, column: str, places: int, low: Decimal, high: Decimal | None = None,
                low_inclusive: bool = True) -> Decimal | None:
        value = self[column]
        if not value:
            return None
        written = value.replace(",", ".", 1) if self.decimal_comma and "." not in value else value
        if not NUMBER_RE.fullmatch(written):
            example = "1234,50" if self.decimal_comma else "1234.50"
            self.fail(column, f"Not a number: write it like {example}, without spaces.")
            return None
        number = Decimal(written)
        if -number.as_tuple().exponent > places:
            self.fail(column, f"Use at most {places} decimals.")
        elif number < low or (number == low and not low_inclusive):
            self.fail(column, f"Must be {'at least' if low_inclusive else 'more than'} {low}.")
        elif high is not None and number > high:
            self.fail(column, f"Must be at most {high}.")
        else:
            return number
        return None

    def boolean(self, column: str) -> bool:
        value = self[column].lower()
        if value and value not in TRUE_WORDS | FALSE_WORDS:
            self.fail(column, "Use yes or no (or true/false, 1/0).")
        return value in TRUE_WORDS

    def email(self, column: str) -> str:
        value = self[column]
        if not value:
            return ""
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            self.fail(column, f"Not a valid e-mail address: {exc}")
            return value

    def official_number(self, column: str, check: Callable[[str, str], str],
                        country: str) -> str:
        value = self[column]
        if not value or not country:
            return value
        try:
            return check(value, country)
        except ValueError as exc:
            self.fail(column, str(exc))
            return value


# --- customers -----------------------------------------------------------------------------


def _check_customers(rows: Sequence[Row], reference: Reference,
                     decimal_comma: bool) -> tuple[list[CustomerRecord], list[RowError]]:
    errors: list[RowError] = []
    records: list[CustomerRecord] = []
    numbers_in_file: dict[int, int] = {}
    site_codes_in_file: dict[str, int] = {}
    current: CustomerRecord | None = None
    first_cells: dict[str, str] = {}
    for row in rows:
        if row.fault:
            errors.append(RowError(row.line, "", "", row.fault))
            continue
        cells = _Cells(row, errors, decimal_comma)
        if current is not None and _continues(cells, current, first_cells):
            for column in CUSTOMER_OWN_COLUMNS:
                if cells[column] and cells[column] != first_cells.get(column, ""):
                    cells.fail(column, f"This row adds to customer {_who(current)} (line "
                                       f"{current.line}): leave this column empty or repeat "
                                       f"the value of line {current.line}.")
            if not _add_parts(cells, current, reference, site_codes_in_file):
                cells.fail("number", f"This row repeats customer {_who(current)} "
                                     "but has no contact or site.")
            continue
        current = _customer(cells, reference, numbers_in_file)
        first_cells = row.cells
        records.append(current)
        _add_parts(cells, current, reference, site_codes_in_file)
    return records, errors


def _continues(cells: _Cells, current: CustomerRecord, first_cells: dict[str, str]) -> bool:
    if not cells["number"]:
        # Without a number only an otherwise empty customer part says "the one above":
        # a row with details but no name is a new customer that lacks its name.
        return not any(cells[column] for column in CUSTOMER_OWN_COLUMNS)
    return cells["number"] == first_cells.get("number") or (
        current.number is not None and cells["number"].isdigit()
        and int(cells["number"]) == current.number
    )


def _who(record: CustomerRecord) -> str:
    return str(record.number) if record.number is not None else f"of line {record.line}"


def _customer(cells: _Cells, reference: Reference,
              numbers_in_file: dict[int, int]) -> CustomerRecord:
    line = cells.row.line
    number = cells.integer("number", 1, MAX_CUSTOMER_NUMBER)
    if number is not None:
        if number in numbers_in_file:
            cells.fail("number", f"Customer number {number} is already used on line "
                                 f"{numbers_in_file[number]}.")
        elif number in reference.customer_numbers:
            cells.fail("number", f"Customer number {number} already exists.")
        numbers_in_file.setdefault(number, line)
    country = cells.code("country", reference.countries, required=True, what="country")
    valid_country = country if country in reference.countries else ""
    terms = cells.integer("payment_terms_days", 0, 365)
    discount = cells.decimal("discount_percent", 2, Decimal(0), Decimal(100))
    values: dict[str, Any] = {
        "name": cells.text("name", 200, required=True),
        "org_number": cells.official_number("org_number", validation.org_number,
                                            valid_country),
        "vat_id": cells.official_number("vat_id", validation.vat_id, valid_country),
        "country": country,
        "address_line1": cells.text("address_line1", 200),
        "address_line2": cells.text("address_line2", 200),
        "postal_code": cells.text("postal_code", 20),
        "city": cells.text("city", 100),
        "delivery_address_line1": cells.text("delivery_address_line1", 200),
        "delivery_address_line2": cells.text("delivery_address_line2", 200),
        "delivery_postal_code": cells.text("delivery_postal_code", 20),
        "delivery_city": cells.text("delivery_city", 100),
        "delivery_country": cells.code("delivery_country", reference.countries,
                                       what="country"),
        "language": cells.code("language", reference.languages, upper=False,
                               what="language") or "en",
        "currency": cells.code("currency", reference.currencies, required=True,
                               what="currency"),
        "payment_terms_days": 14 if terms is None else terms,
        "category": cells.text("category", 100),
        "discount_percent": discount if discount is not None else Decimal(0),
        "delivery_preference": cells.code("delivery_preference", DELIVERY_PREFERENCES,
                                          upper=False, what="delivery preference") or "email",
        "region": cells.text("region", 100),
        "notes": cells.text("notes", 5000),
    }
    return CustomerRecord(line, number, values)


def _add_parts(cells: _Cells, record: CustomerRecord, reference: Reference,
               site_codes_in_file: dict[str, int]) -> bool:
    """Add the row's contact and site to record; say whether the row had either."""
    has_contact = any(cells[c] for c in CONTACT_COLUMNS[:3]) or any(
        cells[c] and cells[c].lower() not in FALSE_WORDS for c in CONTACT_COLUMNS[3:]
    )
    if has_contact:
        record.contacts.append(_contact(cells))
    has_site = any(cells[c] for c in SITE_COLUMNS)
    if has_site:
        record.sites.append(_site(cells, reference, site_codes_in_file))
    return has_contact or has_site


def _contact(cells: _Cells) -> dict[str, Any]:
    contact = {
        "name": cells.text("contact_name", 200, required=True),
        "email": cells.email("contact_email"),
        "phone": cells.text("contact_phone", 40),
        "receives_invoices": cells.boolean("contact_receives_invoices"),
        "portal_access": cells.boolean("contact_portal_access"),
    }
    reasons = {"receives_invoices": "Invoices go", "portal_access": "Portal links go"}
    for flag, reason in reasons.items():
        if contact[flag] and not cells["contact_email"]:
            cells.fail(f"contact_{flag}", f"{reason} by e-mail: give the contact's e-mail.")
    return contact


def _site(cells: _Cells, reference: Reference,
          site_codes_in_file: dict[str, int]) -> dict[str, Any]:
    code = cells.text("site_code", 40, required=True)
    if code in site_codes_in_file:
        cells.fail("site_code", f"Site code {code} is already used on line "
                                f"{site_codes_in_file[code]}.")
    elif code in reference.site_codes:
        cells.fail("site_code", f"Site code {code} already exists.")
    if code:
        site_codes_in_file.setdefault(code, cells.row.line)
    return {
        "code": code,
        "name": cells.text("site_name", 200, required=True),
        "address_line1": cells.text("site_address", 200),
        "postal_code": cells.text("site_postal_code", 20),
        "city": cells.text("site_city", 100),
        "country": cells.code("site_country", reference.countries, what="country"),
    }


# --- products ------------------------------------------------------------------------------

MAX_MONEY = Decimal("99999999999999.9999")  # Numeric(18, 4)
MAX_QUANTITY = Decimal("9999999999.9999")  # Numeric(14, 4)


def _check_products(rows: Sequence[Row], reference: Reference,
                    decimal_comma: bool) -> tuple[list[ProductRecord], list[RowError]]:
    errors: list[RowError] = []
    records: list[ProductRecord] = []
    skus_in_file: dict[str, int] = {}
    vat_codes_by_case = {code.lower(): code for code in reference.vat_codes}
    for row in rows:
        if row.fault:
            errors.append(RowError(row.line, "", "", row.fault))
            continue
        cells = _Cells(row, errors, decimal_comma)
        sku = cells.text("sku", 60, required=True)
        if sku in skus_in_file:
            cells.fail("sku", f"SKU {sku} is already used on line {skus_in_file[sku]}.")
        elif sku in reference.skus:
            cells.fail("sku", f"SKU {sku} already exists.")
        if sku:
            skus_in_file.setdefault(sku, row.line)
        vat_code = cells.text("vat_code", 20, required=True)
        if vat_code:
            vat_code = vat_codes_by_case.get(vat_code.lower(), vat_code)
            if vat_code in reference.archived_vat_codes:
                cells.fail("vat_code", f"VAT code {vat_code} is archived.")
            elif vat_code not in reference.vat_codes:
                cells.fail("vat_code", f"VAT code {vat_code} is not in your VAT rate table.")
        if not cells["base_price"]:
            cells.fail("base_price", "Required.")
        values = {
            "sku": sku,
            "name": cells.text("name", 200, required=True),
            "description": cells.text("description", 5000),
            "unit": cells.text("unit", 20) or "pcs",
            "category": cells.text("category", 100),
            "vat_code": vat_code,
            "base_price": cells.decimal("base_price", 4, Decimal(0), MAX_MONEY),
            "currency": cells.code("currency", reference.currencies, required=True,
                                   what="currency"),
            "cost_price": cells.decimal("cost_price", 4, Decimal(0), MAX_MONEY),
            "quantity_increment": cells.decimal("quantity_increment", 4, Decimal(0),
                                                MAX_QUANTITY, low_inclusive=False),
            "minimum_quantity": cells.decimal("minimum_quantity", 4, Decimal(0), MAX_QUANTITY),
        }
        records.append(ProductRecord(row.line, values))
    return records, errors


# --- writing -------------------------------------------------------------------------------


def csv_line(values: Iterable[object]) -> str:
    """Write one CSV line (with its line break) from cell values."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def plain_decimal(value: Decimal | None, min_places: int = 0) -> str:
    """Write a Decimal without exponent or needless trailing zeros (keep min_places)."""
    if value is None:
        return ""
    text = format(value, "f")
    if "." in text:
        whole, _, fraction = text.partition(".")
        fraction = fraction.rstrip("0").ljust(min_places, "0")
        return f"{whole}.{fraction}" if fraction else whole
    return f"{text}.{'0' * min_places}" if min_places else text


def error_report(errors: Iterable[RowError]) -> Iterator[str]:
    """Write the row errors as CSV lines: line, column, value, message."""
    yield csv_line(("line", "column", "value", "message"))
    for error in errors:
        yield csv_line((error.line, error.column, error.value, error.message))
