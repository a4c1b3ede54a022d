"""Payment references (R6.2), pure: no Flask, no database.

A tenant chooses one scheme for the references printed on its invoices and proformas:

- ``kid_mod10`` / ``kid_mod11``: a Norwegian KID of the tenant's length (2 to 25 characters,
  the check digit included). MOD10 is the Luhn algorithm (``stdnum.luhn``). MOD11 weighs the
  digits 2, 3, 4, 5, 6, 7, 2, 3 ... from the right; the check digit is 11 minus the sum's
  remainder by 11, where 11 becomes 0 and 10 becomes ``-`` (so a MOD11 KID can end in
  ``-``, as the reference implementations and their test vectors have it).
- ``rf``: an ISO 11649 creditor reference, ``RF`` + two check digits + up to 21 letters or
  digits (``stdnum.iso11649``; the check digits by ISO 7064 MOD 97-10).
- ``invoice_number``: the document's own number.

The layout of a generated KID of length L (``kid_layout``)::

    S CCCC NNNN K          (L = 10: 1 + 4 + 4 digits and the check digit)

    S  the series: 1 for an invoice, 2 for a proforma, so the two never share a reference
    C  the customer number's last digits, zero-padded: (L - 2) // 2 of them
    N  the document's position in its series (which never restarts), zero-padded: the
       rest, (L - 2) - (L - 2) // 2 digits
    K  the check digit (MOD10 or MOD11)

The position alone makes a reference unique within its series: the customer digits only
help a reader (a customer number longer than its part loses its leading digits). A
position too large for its part is refused with ``ValueError`` (a longer KID holds it);
nothing is ever cut from it. An RF reference has the same parts with fixed widths:
``RF`` + check + series (1) + customer (6) + position (8), 19 characters.
"""

from __future__ import annotations

import re

from stdnum import iso11649, luhn
from stdnum.iso7064 import mod_97_10

INVOICE_NUMBER = "invoice_number"
KID_MOD10 = "kid_mod10"
KID_MOD11 = "kid_mod11"
RF = "rf"
SCHEMES = (INVOICE_NUMBER, KID_MOD10, KID_MOD11, RF)
KID_SCHEMES = (KID_MOD10, KID_MOD11)
SCHEME_NAMES = {
    INVOICE_NUMBER: "Invoice number",
    KID_MOD10: "KID with MOD10 check digit (Luhn)",
    KID_MOD11: "KID with MOD11 check digit",
    RF: "RF creditor reference (ISO 11649)",
}
# The label printed beside a reference (English msgids, translated where printed).
KID_LABEL = "KID"
RF_LABEL = "Reference (RF)"
NUMBER_LABEL = "Invoice number as reference"
PLAIN_LABEL = "Payment reference"

MIN_KID_LENGTH, MAX_KID_LENGTH = 2, 25  # what a valid KID may have, check digit included
MIN_GENERATED_KID_LENGTH = 4  # series, one customer digit, one position digit, check
MAX_RF_BODY = 21
MAX_REFERENCE_LENGTH = 35  # documents.payment_reference
SERIES_DIGITS = {"invoice": "1", "proforma": "2"}
RF_CUSTOMER_DIGITS, RF_POSITION_DIGITS = 6, 8

_ALGORITHMS = {"mod10": KID_MOD10, "kid_mod10": KID_MOD10,
               "mod11": KID_MOD11, "kid_mod11": KID_MOD11}
_MOD11_WEIGHTS = (2, 3, 4, 5, 6, 7)
_DIGITS = re.compile(r"[0-9]*")
_RF_BODY = re.compile(r"[0-9A-Z]{1,21}")


# --- check digits --------------------------------------------------------------------------


def mod11_check_digit(body: str) -> str:
    """The MOD11 check digit of a string of digits: 0 to 9, or ``-`` for 10."""
    if not body or not _DIGITS.fullmatch(body):
        raise ValueError(f"A KID is made of digits, not {body!r}.")
    total = sum(int(digit) * _MOD11_WEIGHTS[index % 6]
                for index, digit in enumerate(reversed(body)))
    check = (11 - total % 11) % 11
    return "-" if check == 10 else str(check)


def _padded(base: str, length: int | None) -> str:
    """The KID's digits before the check digit: the base, zero-padded to length - 1."""
    if not _DIGITS.fullmatch(base or ""):
        raise ValueError(f"A KID is made of digits, not {base!r}.")
    if length is None:
        length = len(base) + 1
    if not MIN_KID_LENGTH <= length <= MAX_KID_LENGTH:
        raise ValueError(f"A KID has {MIN_KID_LENGTH} to {MAX_KID_LENGTH} digits, not {length}.")
    if len(base) > length - 1:
        raise ValueError(f"{base} has {len(base)} digits: a KID of {length} digits holds"
                         f" {length - 1} and the check digit.")
    return base.zfill(length - 1)


def kid_mod10(base: str, length: int | None = None) -> str:
    """A KID with a MOD10 (Luhn) check digit: the base zero-padded to ``length`` in all."""
    body = _padded(base, length)
    return body + luhn.calc_check_digit(body)


def kid_mod11(base: str, length: int | None = None) -> str:
    """A KID with a MOD11 check digit (``-`` for 10): the base zero-padded to ``length``."""
    body = _padded(base, length)
    return body + mod11_check_digit(body)


def rf(base: str) -> str:
    """The ISO 11649 creditor reference of a base of 1 to 21 letters and digits."""
    body = (base or "").replace(" ", "").upper()
    if not _RF_BODY.fullmatch(body):
        raise ValueError(f"An RF reference holds 1 to {MAX_RF_BODY} letters and digits,"
                         f" not {base!r}.")
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


# --- validation ----------------------------------------------------------------------------


def _algorithm(algorithm: str) -> str:
    try:
        return _ALGORITHMS[algorithm.strip().lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"{algorithm!r} is not a KID algorithm: use MOD10 or MOD11.") from None


def kid_problem(value: str, algorithm: str) -> str | None:
    """Why the value is not a valid KID of the algorithm (MOD10 or MOD11), or None."""
    scheme = _algorithm(algorithm)
    kid = (value or "").replace(" ", "")
    name = "MOD10" if scheme == KID_MOD10 else "MOD11"
    if not kid:
        return "it is empty"
    body, check = kid[:-1], kid[-1:]
    if not _DIGITS.fullmatch(body) or not (check.isdigit() or (check == "-"
                                                               and scheme == KID_MOD11)):
        dash = " (a MOD11 KID may end in -)" if scheme == KID_MOD11 else ""
        return f"a KID has only digits{dash}"
    if not MIN_KID_LENGTH <= len(kid) <= MAX_KID_LENGTH:
        return f"a KID has {MIN_KID_LENGTH} to {MAX_KID_LENGTH} digits, this one {len(kid)}"
    expected = luhn.calc_check_digit(body) if scheme == KID_MOD10 else mod11_check_digit(body)
    if check != expected:
        return f"its {name} check digit is {check}, it should be {expected}"
    return None


def is_valid_kid(value: str, algorithm: str) -> bool:
    """Whether the value is a KID with a valid check digit of the algorithm (MOD10/MOD11)."""
    return kid_problem(value, algorithm) is None


def is_valid_rf(value: str) -> bool:
    """Whether the value is a valid ISO 11649 creditor reference (spaces allowed)."""
    return iso11649.is_valid(value or "")


# --- generation ----------------------------------------------------------------------------


def kid_layout(length: int) -> tuple[int, int]:
    """(customer digits, position digits) of a generated KID of that length."""
    if not MIN_GENERATED_KID_LENGTH <= length <= MAX_KID_LENGTH:
        raise ValueError(f"A KID made here has {MIN_GENERATED_KID_LENGTH} to {MAX_KID_LENGTH}"
                         f" digits, not {length}.")
    parts = length - 2  # less the series digit and the check digit
    return parts // 2, parts - parts // 2


def kid_capacity(length: int) -> int:
    """The highest series position a generated KID of that length holds."""
    return 10 ** kid_layout(length)[1] - 1


def _series(kind: str) -> str:
    try:
        return SERIES_DIGITS[kind]
    except KeyError:
        raise ValueError(f"Only invoices and proformas get a payment reference, not {kind}."
                         ) from None


def _last_digits(customer_number: int, width: int) -> str:
    if customer_number < 0:
        raise ValueError(f"A customer number is not negative: {customer_number}.")
    return str(customer_number)[-width:].zfill(width) if width else ""


def make_reference(scheme: str, *, customer_number: int, counter: int, number: str,
                   length: int, kind: str = "invoice") -> str:
    """The payment reference of a document: see the layout at the top.

    ``counter`` is the document's position in its number series (never restarted),
    ``number`` its number, ``length`` the KID length (only KIDs have one), ``kind``
    ``invoice`` or ``proforma``. ValueError says what does not fit.
    """
    if scheme == INVOICE_NUMBER:
        if not number:
            raise ValueError("The document has no number to use as its reference.")
        if len(number) > MAX_REFERENCE_LENGTH:
            raise ValueError(f"The number {number} has {len(number)} characters: a payment"
                             f" reference holds {MAX_REFERENCE_LENGTH}.")
        return number
    if scheme not in SCHEMES:
        raise ValueError(f"{scheme!r} is not a reference scheme: use one of"
                         f" {', '.join(SCHEMES)}.")
    series = _series(kind)
    if counter < 1:
        raise ValueError(f"A series position starts at 1, not {counter}.")
    if scheme == RF:
        if counter >= 10 ** RF_POSITION_DIGITS:
            raise ValueError(f"An RF reference has room for the first"
                             f" {10 ** RF_POSITION_DIGITS - 1:,} {kind}s of the series,"
                             f" not no. {counter:,}.")
        return rf(series + _last_digits(customer_number, RF_CUSTOMER_DIGITS)
                  + f"{counter:0{RF_POSITION_DIGITS}d}")
    customer_digits, position_digits = kid_layout(length)
    if counter >= 10 ** position_digits:
        raise ValueError(f"A KID of {length} digits has room for the first"
                         f" {10 ** position_digits - 1:,} {kind}s of the series; {kind}"
                         f" no. {counter:,} of it needs a longer KID.")
    body = (series + _last_digits(customer_number, customer_digits)
            + f"{counter:0{position_digits}d}")
    return kid_mod10(body, length) if scheme == KID_MOD10 else kid_mod11(body, length)


# --- references entered by hand, and printed -------------------------------------------------


def check_reference(value: str, scheme: str, length: int | None = None) -> str:
    """A reference typed on a draft, in its stored form, or ValueError saying what is wrong.

    Under a KID scheme it must be a valid KID of the scheme's algorithm (and of ``length``
    when given: a bank's KID agreement fixes it), under ``rf`` a valid RF reference (stored
    compact: ``RF18539007547034``); with ``invoice_number`` any text of up to 35
    characters. An empty value stays empty: one is made at issue.
    """
    value = (value or "").strip()
    if not value:
        return ""
    if "\n" in value or "\r" in value:
        raise ValueError("A payment reference is one line.")
    if scheme in KID_SCHEMES:
        kid = value.replace(" ", "")
        problem = kid_problem(kid, scheme)
        if problem:
            name = "MOD10" if scheme == KID_MOD10 else "MOD11"
            raise ValueError(f"{value} is not a valid KID ({name}): {problem}."
                             " Leave it empty and one is made when the invoice is issued.")
        if length is not None and len(kid) != length:
            raise ValueError(f"{value} has {len(kid)} digits: this company's KIDs have"
                             f" {length}. Leave it empty and one is made when the invoice"
                             " is issued.")
        return kid
    if scheme == RF:
        if not is_valid_rf(value):
            raise ValueError(f"{value} is not a valid RF creditor reference (ISO 11649)."
                             " Leave it empty and one is made when the invoice is issued.")
        return iso11649.compact(value)
    if len(value) > MAX_REFERENCE_LENGTH:
        raise ValueError(f"A payment reference has at most {MAX_REFERENCE_LENGTH} characters.")
    return value


def reference_label(reference: str, scheme: str | None, number: str | None) -> str:
    """The label printed before the reference: KID, Reference (RF), the invoice number."""
    if not reference:
        return ""
    if scheme in KID_SCHEMES and is_valid_kid(reference, scheme):
        return KID_LABEL
    if is_valid_rf(reference):
        return RF_LABEL
    if number and reference == number and scheme in (INVOICE_NUMBER, None, ""):
        return NUMBER_LABEL
    return PLAIN_LABEL


def display_reference(reference: str) -> str:
    """The reference as printed: an RF reference in groups of four, others as they are."""
    if reference and is_valid_rf(reference):
        return iso11649.format(reference)
    return reference or ""
