"""Peppol code lists the UBL export needs (pure): endpoint schemes, VAT categories, units.

Endpoint (EAS) schemes: where the country has a Peppol scheme for its organisation number
(Norway 0192, Sweden 0007, Denmark 0184, Belgium 0208), the organisation number (or its
digits in the VAT number) is the address; otherwise the VAT number under the country's VAT
scheme (99xx); otherwise the party's e-mail under ``EM``; otherwise none, and the export
says it is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

ORG_NUMBER_SCHEMES = {"NO": "0192", "SE": "0007", "DK": "0184", "BE": "0208"}
VAT_SCHEMES = {
    "AT": "9914", "BE": "9925", "BG": "9926", "CH": "9927", "CY": "9928", "CZ": "9929",
    "DE": "9930", "EE": "9931", "GB": "9932", "GR": "9933", "HR": "9934", "IE": "9935",
    "LI": "9936", "LT": "9937", "LU": "9938", "LV": "9939", "MC": "9940", "MT": "9943",
    "NL": "9944", "PL": "9945", "PT": "9946", "RO": "9947", "RS": "9948", "SI": "9949",
    "SK": "9950", "FR": "9957", "HU": "9910", "IT": "9906", "ES": "9920",
}
EMAIL_SCHEME = "EM"

# The app's VAT categories (catalog.models.VatCategory) as EN 16931 category codes (UNCL5305).
CATEGORY_CODES = {"standard": "S", "reduced": "S", "zero": "Z", "exempt": "E",
                  "reverse_charge": "AE"}
# Categories whose VAT breakdown must say why no VAT is charged (BR-E-10, BR-AE-10 ...).
NEEDS_EXEMPTION_REASON = frozenset({"E", "AE", "K", "G", "O"})
DEFAULT_EXEMPTION_REASONS = {"E": "Exempt from VAT", "AE": "Reverse charge",
                             "K": "Intra-community supply", "G": "Export outside the EU",
                             "O": "Not subject to VAT"}

# Units as written on lines → UN/ECE Recommendation 20 codes; anything else is "one" (C62).
UNIT_CODES = {
    "h": "HUR", "hr": "HUR", "hrs": "HUR", "hour": "HUR", "hours": "HUR", "t": "HUR",
    "time": "HUR", "timer": "HUR", "godz": "HUR", "hod": "HUR",
    "d": "DAY", "day": "DAY", "days": "DAY", "dag": "DAY", "dager": "DAY", "dni": "DAY",
    "month": "MON", "months": "MON", "mo": "MON", "mnd": "MON", "mies": "MON",
    "pcs": "H87", "pc": "H87", "stk": "H87", "szt": "H87", "ks": "H87", "kom": "H87",
    "km": "KMT", "kg": "KGM", "m": "MTR", "m2": "MTK", "m²": "MTK", "l": "LTR",
}
_POSTAL = re.compile(r"^(\d[\d\- ]*\d|\d+)\s+(.+)$")


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    value: str


def unit_code(unit: str) -> str:
    """The UN/ECE code of a unit as written on a line ("h" → HUR); C62 (one) otherwise."""
    return UNIT_CODES.get(unit.strip().lower().rstrip("."), "C62")


def category_code(category: str, rate: Decimal) -> str:
    """The EN 16931 category of a line: a standard rate of 0 % is zero-rated (BR-S-05)."""
    code = CATEGORY_CODES.get(category, "S")
    return "Z" if code == "S" and rate == 0 else code


def vat_identifier(vat_id: str, country: str) -> str:
    """The VAT id with its country prefix (BR-CO-09): Greece writes EL."""
    compact = re.sub(r"[\s.\-]", "", vat_id or "").upper()
    if not compact:
        return ""
    if re.match(r"^[A-Z]{2}", compact):
        return compact
    prefix = "EL" if country == "GR" else country.upper()
    return f"{prefix}{compact}"


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


# Where the VAT number is the organisation number with a prefix (and a suffix): NO + 9
# digits + MVA, SE + 10 digits + 01, DK + 8 digits, BE + 10 digits.
ORG_DIGITS_IN_VAT = {"NO": 9, "SE": 10, "DK": 8, "BE": 10}


def organisation_number(country: str, org_number: str, vat_id: str) -> str:
    """The organisation number's digits, read from the VAT number when it holds them."""
    if digits(org_number):
        return digits(org_number)
    length = ORG_DIGITS_IN_VAT.get(country)
    found = digits(vat_id)
    return found[:length] if length and len(found) >= length else ""


def endpoint(country: str, org_number: str, vat_id: str, email: str) -> Endpoint | None:
    """The party's Peppol address: organisation number, VAT number, e-mail, or none."""
    country = (country or "").upper()
    organisation = organisation_number(country, org_number, vat_id)
    if country in ORG_NUMBER_SCHEMES and organisation:
        return Endpoint(ORG_NUMBER_SCHEMES[country], organisation)
    identifier = vat_identifier(vat_id, country)
    if identifier and country in VAT_SCHEMES:
        return Endpoint(VAT_SCHEMES[country], identifier)
    if email:
        return Endpoint(EMAIL_SCHEME, email)
    return None


def legal_scheme(country: str) -> str | None:
    """The ICD scheme of the country's organisation numbers, when Peppol has one."""
    return ORG_NUMBER_SCHEMES.get((country or "").upper())


def split_town(line: str) -> tuple[str, str]:
    """ "0150 Oslo" → ("0150", "Oslo"); a line without a leading postal code is the city."""
    match = _POSTAL.match(line.strip())
    return (match.group(1), match.group(2)) if match else ("", line.strip())
