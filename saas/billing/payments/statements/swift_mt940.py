"""SWIFT MT940 read with the ``mt-940`` library (pure).

Before the library sees a file, it is cut into statements here, keeping line numbers for
messages: the SWIFT delimiters SOH and ETX (0x01, 0x03) go, as do the block envelope
``{1:...}{2:...}{3:...}{4:`` ... ``-}{5:...}`` and plain-text headers before a
message's first tag (``ABNANL2A`` / ``940``); each ``:20:`` starts a statement, and an
``:86:`` after the closing balance (ING's statement totals) is not a transaction's. Each
statement is then parsed by ``mt940.parse``; a ``:61:`` whose customer reference is
longer than SWIFT allows (ASN Bank puts an IBAN there) is read with the library's
``StatementASNB`` tag instead.

``:86:`` details are read in the common layouts: the German ``?20``–``?33`` sub-fields
(through the library: ``applicant_name``, ``applicant_iban``, ``purpose``), the Dutch
``/EREF/ /NAME/ /IBAN/ /CNTP/ /REMI/`` keys, the Polish ``OD: / Z RACH.: / TYT.:`` fields,
and an IBAN and name opening the text (ASN); otherwise the text is kept as it is.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import mt940
from mt940.tags import StatementASNB

from saas.billing.payments.statements import (
    ParsedLine,
    ParsedStatement,
    StatementParseError,
    balance_warning,
    collapse,
)

_TAG = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS):(?P<rest>.*)$")
_ENVELOPE = re.compile(r"^\{1:[^}]*\}(?:\{2:[^}]*\})?(?:\{3:(?:\{[^}]*\})*\})?\{4:")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_DUTCH_KEYS = ("EREF", "MARF", "CSID", "TRTP", "CNTP", "BENM", "ORDP", "NAME", "ADDR", "IBAN",
               "BIC", "REMI", "ISDT", "PREF", "RTRN", "ULTD", "ULTC", "ULTB", "SVCL", "PURP",
               "CDTRREF", "CDTRREFTP", "ID")
_DUTCH = re.compile(r"/(" + "|".join(_DUTCH_KEYS) + r")/")
_RF = re.compile(r"\bRF\d{2}[A-Z0-9]{1,21}\b", re.IGNORECASE)
_KID = re.compile(r"\bKID(?:NR)?[.:\s]*(\d{2,25})\b", re.IGNORECASE)
_CLOSING_TAGS = ("62F", "62M", "64", "65")
_OPTIONS = mt940.Options.all()
_NOT_REFERENCES = {"", "NONREF", "EREF", "PREF", "MARF"}
# The library logs every tag it cannot match before raising; the error we raise names the
# line, and the first attempt at an ASN statement line is expected to fail.
logging.getLogger("mt940").setLevel(logging.CRITICAL)


@dataclass
class _Tag:
    tag: str
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def parse_mt940(data: bytes) -> list[ParsedStatement]:
    """Read an MT940 file: one ParsedStatement per statement (``:20:`` block)."""
    blocks = _statement_blocks(_decode(data))
    if not blocks:
        raise StatementParseError("No MT940 statement found: a statement starts with a"
                                  " :20: line.", 1)
    return [_statement(block) for block in blocks]


def _decode(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # MT940 files are ISO 8859-1 where not UTF-8
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _statement_blocks(text: str) -> list[list[_Tag]]:
    """The statements of the file, each a list of its tags with their line numbers."""
    blocks: list[list[_Tag]] = []
    current: list[_Tag] | None = None  # the statement being read, None between messages
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.replace("\x01", "").replace("\x03", "").rstrip()
        envelope = _ENVELOPE.match(line)
        if envelope:
            current, line = None, line[envelope.end():]
        if line.startswith("-") and (line.startswith("-}") or len(line) <= 4):
            current = None  # the end of a message
            continue
        tag = _TAG.match(line)
        if tag:
            if tag["tag"] == "20":
                current = []
                blocks.append(current)
            if current is not None:
                current.append(_Tag(tag["tag"], number, [tag["rest"]]))
        elif current and line.strip():
            current[-1].lines.append(line)
    return [_without_statement_details(block) for block in blocks]


def _without_statement_details(block: list[_Tag]) -> list[_Tag]:
    """Drop an :86: after a closing balance: statement totals, not a transaction's text."""
    kept: list[_Tag] = []
    for tag in block:
        if tag.tag == "86" and kept and kept[-1].tag in _CLOSING_TAGS:
            continue
        kept.append(tag)
    return kept


def _library_parse(block: list[_Tag]) -> Any:
    text = "\n".join(f":{tag.tag}:{tag.text}" for tag in block) + "\n"
    try:
        return mt940.parse(io.StringIO(text), options=_OPTIONS)
    except RuntimeError as first:
        if not any(tag.tag == "61" for tag in block):
            raise _located(block, first) from None
        try:  # a customer reference longer than 16 characters (ASN Bank): the 34x variant
            return mt940.parse(io.StringIO(text), options=_OPTIONS,
                               tags={StatementASNB.id: StatementASNB()})
        except (RuntimeError, ValueError, InvalidOperation) as second:
            raise _located(block, second) from None
    except (ValueError, InvalidOperation, KeyError) as exc:
        raise _located(block, exc) from None


def _located(block: list[_Tag], exc: Exception) -> StatementParseError:
    """The library's error, at the line of the tag it could not read."""
    value = exc.args[2] if len(exc.args) >= 3 and isinstance(exc.args[2], str) else None
    for tag in block:
        if value is not None and tag.text.strip() == value.strip():
            first = value.strip().split("\n")[0]
            return StatementParseError(f"the :{tag.tag}: field {first!r} cannot be read"
                                       f" ({_TAG_NAMES.get(tag.tag[:2], 'see the MT940 format')}"
                                       ").", tag.line)
    return StatementParseError(f"the statement cannot be read: {exc.args[0] if exc.args else exc}",
                               block[0].line)


_TAG_NAMES = {"60": "opening balance: C or D, date YYMMDD, currency, amount with a comma",
              "62": "closing balance: C or D, date YYMMDD, currency, amount with a comma",
              "61": "statement line: value date YYMMDD, [entry date MMDD], C or D, amount",
              "25": "account", "28": "statement number", "20": "reference"}


def _statement(block: list[_Tag]) -> ParsedStatement:
    result = _library_parse(block)
    data = result.data
    start = block[0].line
    account = (data.get("account_identification") or "").replace(" ", "")
    if not account:
        raise StatementParseError("the statement has no :25: account.", start)
    opening = _balance(data, "final_opening_balance", "opening_balance",
                       "intermediate_opening_balance")
    closing = _balance(data, "final_closing_balance", "closing_balance",
                       "intermediate_closing_balance")
    if opening is None or closing is None:
        raise StatementParseError("the statement needs an opening (:60F:) and a closing"
                                  " (:62F:) balance.", start)
    currency = opening.amount.currency or closing.amount.currency or ""
    statement_lines = [tag.line for tag in block if tag.tag == "61"]
    lines = [_line(transaction.data, currency, source)
             for transaction, source in zip(result.transactions, statement_lines, strict=False)]
    number = "/".join(str(part) for part in (data.get("statement_number"),
                                             data.get("sequence_number")) if part)
    ref = " ".join(part for part in (str(data.get("transaction_reference") or ""), number,
                                     closing.date.isoformat() if closing.date else "") if part)
    return ParsedStatement(
        account=account[:40], currency=currency, statement_ref=ref,
        opening_balance=opening.amount.amount, closing_balance=closing.amount.amount,
        from_date=opening.date, to_date=closing.date, lines=tuple(lines),
        warnings=balance_warning(ref, opening.amount.amount, closing.amount.amount, lines))


def _balance(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        balance = data.get(key)
        if balance is not None and hasattr(balance.amount, "amount"):
            return balance
    return None


def _line(data: dict[str, Any], currency: str, source: int) -> ParsedLine:
    amount: Decimal = data["amount"].amount
    booked_on = data.get("entry_date") or data["date"]
    details = _details(data)
    customer_reference = (data.get("customer_reference") or "").strip()
    bank_reference = (data.get("bank_reference") or "").strip()
    if not bank_reference and customer_reference.upper() not in _NOT_REFERENCES \
            and not _IBAN.match(customer_reference):
        bank_reference = customer_reference
    return ParsedLine(
        booked_on=_plain_date(booked_on), value_date=_plain_date(data["date"]),
        amount=amount, currency=data.get("currency") or currency, source_line=source,
        bank_reference=bank_reference[:100], **details)


def _plain_date(value: Any) -> date:
    return date(value.year, value.month, value.day)


def _details(data: dict[str, Any]) -> dict[str, str]:
    """Counterparty, references and text from :86: (and the :61: supplementary details)."""
    text = data.get("transaction_details") or ""
    name = account = reference = ""
    remittance = ""
    if data.get("applicant_name") or data.get("purpose"):  # German ?xx sub-fields
        name = data.get("applicant_name") or ""
        account = data.get("applicant_iban") or data.get("gvc_applicant_iban") or ""
        remittance = " ".join(p for p in (data.get("purpose"), data.get("additional_purpose"))
                              if p)
    elif _DUTCH.search(text.replace("\n", "")):
        name, account, reference, remittance = _dutch(text.replace("\n", ""))
    elif "OD:" in text or "Z RACH.:" in text or "TYT.:" in text:
        name, account, remittance = _polish(text)
    else:
        remittance = text
    for candidate in (data.get("customer_reference"), data.get("extra_details")):
        candidate = (candidate or "").strip().replace(" ", "")
        if not account and _IBAN.match(candidate):
            account = candidate
    first_line, _, rest = text.partition("\n")
    if account and not name and first_line.replace(" ", "").startswith(account):
        # ASN: the counterparty's IBAN and name open the text
        name = first_line.strip()[len(account):].strip()
        remittance = rest
    remittance = collapse(remittance)
    if not reference:
        found = _RF.search(remittance) or _KID.search(remittance)
        reference = (found.group(1) if found and found.re is _KID else
                     found.group(0) if found else "")
    return {"counterparty_name": collapse(name)[:200], "counterparty_account": account[:40],
            "structured_reference": reference.upper().replace(" ", "")[:40],
            "remittance_text": remittance}


def _dutch(text: str) -> tuple[str, str, str, str]:
    """Name, account, structured reference and text from /KEY/value/ fields."""
    fields: dict[str, str] = {}
    matches = list(_DUTCH.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        fields.setdefault(match[1], text[match.end():end].strip("/ "))
    name, account = fields.get("NAME", ""), fields.get("IBAN", "")
    if "CNTP" in fields:  # /CNTP/account/BIC/name/city/
        parts = fields["CNTP"].split("/") + ["", "", ""]
        account, name = account or parts[0], name or parts[2]
    remittance, reference = fields.get("REMI", ""), fields.get("CDTRREF", "")
    if remittance.startswith("USTD"):
        remittance = remittance[4:].strip("/ ")
    elif remittance.startswith("STRD"):  # /REMI/STRD/CUR/RF18539007547034/
        parts = [part for part in remittance.split("/") if part]
        reference, remittance = reference or parts[-1], ""
    return name, account.replace(" ", ""), reference, remittance


def _polish(text: str) -> tuple[str, str, str]:
    """Name, account and title from mBank-style ``OD: ...; Z RACH.: ...; TYT.: ...``."""
    name = account = title = ""
    for line in text.split("\n"):
        if "OD:" in line and not name:
            name = line.split("OD:", 1)[1].split(";")[0]
    joined = " ".join(text.split("\n"))
    found = re.search(r"Z RACH\.:\s*([A-Z]{0,2}[\d ]{10,})", joined)
    if found:
        account = found.group(1).replace(" ", "")
    found = re.search(r"TYT\.:\s*([^;]*)", joined)
    if found:
        title = found.group(1)
    return name.strip(), account, title.strip()
