"""The EPC QR code ("SEPA Credit Transfer" QR, EPC069-12 version 002), pure: no Flask.

A banking app that scans it fills in a SEPA credit transfer: beneficiary, IBAN, amount in
euro and the remittance information. The payload is a few lines joined with "\\n":

    BCD                 service tag
    002                 version
    1                   character set (1 = UTF-8)
    SCT                 identification (SEPA Credit Transfer)
    BIC                 optional in version 002 (EEA payments)
    name                the beneficiary, at most 70 characters
    IBAN
    EUR12.30            "EUR" and the amount, 0.01 to 999999999.99, at most 2 decimals
    purpose             optional 4-letter SEPA purpose code
    reference           structured remittance: an ISO 11649 creditor reference (RF...)
    text                or unstructured remittance, at most 140 characters (never both)
    information         optional beneficiary-to-originator information, at most 70

Elements after the last populated one are left out (no trailing line feeds), as the
guidelines ask. The whole payload may take at most 331 bytes; the QR code uses error
correction level M and at most version 13.
"""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation

import segno
from PIL import Image
from stdnum import iban as std_iban
from stdnum import iso11649
from stdnum.exceptions import ValidationError

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
MAX_NAME = 70
MAX_TEXT = 140
MAX_INFORMATION = 70
MAX_PAYLOAD_BYTES = 331
MAX_QR_VERSION = 13


def _clean(value: str) -> str:
    """Strip the value; refuse line breaks, which would shift every later element."""
    value = (value or "").strip()
    if "\n" in value or "\r" in value:
        raise ValueError(f"EPC QR: {value[:40]!r} may not contain a line break")
    return value


def check_amount(amount: Decimal) -> Decimal:
    """Return the amount rounded to cents, or raise ValueError when the QR cannot carry it."""
    if isinstance(amount, float | bool):
        raise TypeError("EPC QR: the amount must be a Decimal, not a float")
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"EPC QR: {amount!r} is not an amount") from exc
    if not value.is_finite():
        raise ValueError(f"EPC QR: {amount!r} is not an amount")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"EPC QR: the amount {value} has more than 2 decimals")
    if not MIN_AMOUNT <= value <= MAX_AMOUNT:
        raise ValueError(
            f"EPC QR: the amount must be between {MIN_AMOUNT} and {MAX_AMOUNT} EUR, not {value}"
        )
    return value.quantize(Decimal("0.01"))


def split_remittance(payment_reference: str) -> tuple[str, str]:
    """(structured reference, unstructured text) for a document's payment reference.

    A valid ISO 11649 creditor reference (RF...) goes in the structured element, anything
    else (a KID, an invoice number) in the unstructured text.
    """
    reference = (payment_reference or "").strip()
    if not reference:
        return "", ""
    if iso11649.is_valid(reference):
        return iso11649.compact(reference), ""
    return "", reference


def payload(
    *,
    name: str,
    iban: str,
    amount: Decimal,
    bic: str = "",
    reference: str = "",
    text: str = "",
    purpose: str = "",
    information: str = "",
) -> str:
    """The EPC QR payload (version 002, UTF-8); ValueError names what is wrong."""
    name = _clean(name)
    if not name:
        raise ValueError("EPC QR: the beneficiary name is required")
    if len(name) > MAX_NAME:
        raise ValueError(
            f"EPC QR: the beneficiary name has {len(name)} characters, at most {MAX_NAME} allowed"
        )
    try:
        iban_value = std_iban.validate(_clean(iban))
    except ValidationError as exc:
        raise ValueError(f"EPC QR: {iban!r} is not a valid IBAN ({exc})") from exc
    bic = _clean(bic).replace(" ", "").upper()
    if bic and (len(bic) not in (8, 11) or not bic.isalnum()):
        raise ValueError(f"EPC QR: {bic!r} is not a BIC (8 or 11 letters and digits)")
    value = check_amount(amount)
    purpose = _clean(purpose).upper()
    if purpose and (len(purpose) != 4 or not purpose.isalnum()):
        raise ValueError(f"EPC QR: the purpose code {purpose!r} must have 4 letters or digits")
    reference = _clean(reference)
    text = _clean(text)
    if reference and text:
        raise ValueError("EPC QR: give a structured reference or a text, not both")
    if reference:
        try:
            reference = iso11649.validate(reference)
        except ValidationError as exc:
            raise ValueError(
                f"EPC QR: {reference!r} is not an ISO 11649 creditor reference ({exc})"
            ) from exc
    if len(text) > MAX_TEXT:
        raise ValueError(
            f"EPC QR: the remittance text has {len(text)} characters, at most {MAX_TEXT} allowed"
        )
    information = _clean(information)
    if len(information) > MAX_INFORMATION:
        raise ValueError(
            f"EPC QR: the information has {len(information)} characters, "
            f"at most {MAX_INFORMATION} allowed"
        )
    elements = [
        "BCD", "002", "1", "SCT", bic, name, iban_value, f"EUR{value}", purpose,
        reference, text, information,
    ]
    while elements[-1] == "":
        elements.pop()
    data = "\n".join(elements)
    size = len(data.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(
            f"EPC QR: the payload takes {size} bytes, at most {MAX_PAYLOAD_BYTES} allowed"
        )
    return data


def qr_code(data: str) -> segno.QRCode:
    """The QR code of a payload: error correction level M (not raised), byte mode, UTF-8."""
    code = segno.make_qr(data, error="m", boost_error=False, mode="byte", encoding="utf-8")
    if code.version > MAX_QR_VERSION:  # pragma: no cover - 331 bytes always fit version 13
        raise ValueError(f"EPC QR: version {code.version} is above the allowed 13")
    return code


def qr_png(data: str, *, scale: int = 4, border: int = 4) -> bytes:
    """The QR code of a payload as PNG bytes (black on white, 1 bit per pixel).

    Drawn with Pillow from the module matrix: segno's own PNG writer is pure Python and
    takes about 20 ms, this well under one.
    """
    code = qr_code(data)
    width, height = code.symbol_size(scale=1, border=border)
    pixels = b"".join(
        bytes(0 if dark else 255 for dark in row)
        for row in code.matrix_iter(scale=1, border=border)
    )
    image = Image.frombytes("L", (width, height), pixels).convert("1")
    if scale > 1:
        image = image.resize((width * scale, height * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def qr_svg(data: str, *, scale: int = 4, border: int = 4) -> str:
    """The QR code of a payload as an SVG document."""
    out = io.BytesIO()
    qr_code(data).save(out, kind="svg", scale=scale, border=border, xmldecl=False)
    return out.getvalue().decode("utf-8")
