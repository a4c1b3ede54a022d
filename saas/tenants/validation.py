"""Checks of official numbers (VAT ids, org numbers, IBAN, BIC) with python-stdnum.

Pure: no Flask, no database. Each function returns the compact, valid form or raises
ValueError with a message fit to show next to the field.
"""

from __future__ import annotations

import re
import unicodedata

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError
from stdnum.util import get_cc_module

_UNDECOMPOSABLE = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "đ": "d", "Đ": "D", "ß": "ss"}
)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# Countries whose VAT ids are written with a country prefix (Greece uses EL).
VAT_PREFIXES = {
    code: "EL" if code == "GR" else code
    for code in (
        "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL NO PL PT RO SE SI SK"
    ).split()
}
# Per-country modules for company registration numbers, where stdnum has one.
ORG_NUMBER_MODULES = {
    "no": "orgnr",
    "pl": "regon",
    "ro": "onrc",
    "rs": "pib",
    "dk": "cvr",
    "fi": "ytunnus",
    "se": "orgnr",
    "ee": "registrikood",
}


def vat_id(value: str, country: str) -> str:
    """Validate a VAT id for the country (the country prefix may be given or not)."""
    country = country.lower()
    module = get_cc_module(country, "vat")
    if module is None:
        raise ValueError(f"VAT ids of country {country.upper()} cannot be checked.")
    try:
        number = module.validate(value)
    except ValidationError as exc:
        raise ValueError(f"Not a valid {country.upper()} VAT id: {exc.message}") from exc
    prefix = VAT_PREFIXES.get(country.upper())
    # One form for invoices: the prefix that VIES and e-invoices use, then the number.
    if prefix and not number.startswith(prefix):
        number = prefix + number.removeprefix(country.upper())
    return number


def org_number(value: str, country: str) -> str:
    """Validate a company registration number where the country's format is known."""
    name = ORG_NUMBER_MODULES.get(country.lower())
    module = get_cc_module(country.lower(), name) if name else None
    if module is None:
        cleaned = value.strip()
        if not cleaned:
            raise ValueError("Organisation number is empty.")
        return cleaned
    try:
        return module.validate(value)
    except ValidationError as exc:
        raise ValueError(
            f"Not a valid {country.upper()} organisation number: {exc.message}"
        ) from exc


def iban(value: str) -> str:
    """Validate an IBAN (country format and check digits); return it compact."""
    try:
        return stdnum_iban.validate(value)
    except ValidationError as exc:
        raise ValueError(f"Not a valid IBAN: {exc.message}") from exc


def bic(value: str) -> str:
    """Validate a BIC (SWIFT code)."""
    try:
        return stdnum_bic.validate(value)
    except ValidationError as exc:
        raise ValueError(f"Not a valid BIC: {exc.message}") from exc


def bban(value: str, country: str) -> str:
    """Validate a domestic account number where stdnum knows the country (e.g. NO)."""
    module = get_cc_module(country.lower(), "kontonr") if country.lower() == "no" else None
    cleaned = re.sub(r"[\s.]", "", value)
    if module is None:
        if not re.fullmatch(r"[0-9A-Za-z-]{4,40}", cleaned):
            raise ValueError("Not a valid account number.")
        return cleaned
    try:
        return module.validate(value)
    except ValidationError as exc:
        raise ValueError(f"Not a valid {country.upper()} account number: {exc.message}") from exc


def slug(value: str) -> str:
    """Validate a URL slug: lower-case letters, digits and dashes."""
    value = value.strip().lower()
    if not SLUG_RE.match(value):
        raise ValueError("Use 1–63 lower-case letters, digits and dashes (not at the ends).")
    return value


def slugify(name: str) -> str:
    """Make a slug from a company name (ASCII letters and digits, dashes between)."""
    # Letters that Unicode does not decompose into a base letter plus an accent.
    name = name.translate(_UNDECOMPOSABLE)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return value[:63].strip("-") or "company"


def color(value: str) -> str:
    """Validate a #rrggbb colour."""
    if not COLOR_RE.match(value.strip()):
        raise ValueError("Use a colour like #1f4e79.")
    return value.strip().lower()
