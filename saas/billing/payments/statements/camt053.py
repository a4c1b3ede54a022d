"""ISO 20022 camt.053 (BankToCustomerStatement) read with lxml (pure).

Every version (camt.053.001.02 to .13 and later) has the same element names where they
matter here, in its own namespace: elements are found by local name within the
document's namespace, whatever its version (or none). Another ISO 20022 message (a
camt.052 report, a camt.054 notification, a pain.001 ...) is refused by name.

Each ``<Ntry>`` booked (``Sts`` BOOK, or none given) becomes one line, signed by its
``CdtDbtInd``; an entry that is a batch of several ``<TxDtls>`` whose own amounts add up
to the entry's becomes one line per transaction. Per line: booking and value dates,
amount and currency, the counterparty (the debtor of money in, the creditor of money
out: ``RltdPties``, name and IBAN or other account id), the structured reference
(``Strd/CdtrRefInf/Ref``: KID, RF, SCOR ...), the remittance text (``Ustrd``, referred
document numbers, or else the additional entry information) and the bank's reference
(``AcctSvcrRef``). Balances: opening ``OPBD`` (else ``PRCD``, ``OPAV``), closing
``CLBD`` (else ``CLAV``), in the statement's currency.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from lxml import etree

from saas.billing.payments.statements import (
    ParsedLine,
    ParsedStatement,
    StatementParseError,
    balance_warning,
    collapse,
)

_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(?P<message>[a-z]{4}\.\d{3})"
                        r"\.\d{3}\.\d{2}$")
_MESSAGES = {"camt.052": "a camt.052 account report", "camt.054": "a camt.054 debit/credit "
             "notification", "pain.001": "a pain.001 payment order", "pain.008": "a pain.008 "
             "direct debit order", "pain.002": "a pain.002 payment status report"}
_AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,5})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
OPENING_CODES, CLOSING_CODES = ("OPBD", "PRCD", "OPAV"), ("CLBD", "CLAV")


def _parser() -> etree.XMLParser:
    # No DTDs, entities or network: a statement is data, never instructions to fetch.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           remove_comments=True, remove_pis=True, huge_tree=False)


# A document type declaration, in the encodings an XML file may come in.
_DOCTYPE = tuple("<!DOCTYPE".encode(encoding) for encoding in ("utf-8", "utf-16-le",
                                                               "utf-16-be"))
NO_DTD = ("The file declares a document type (<!DOCTYPE ...>) with its own entities; a "
          "camt.053 bank statement has none. Nothing in it was read: export the statement "
          "from the bank again.")


def parse_camt053(data: bytes) -> list[ParsedStatement]:
    """Read a camt.053 message: one ParsedStatement per ``<Stmt>``.

    A DTD is refused before parsing, by name: the parser would neither load nor expand it
    (``_parser``), but an entity left unexpanded reads as a field that is missing, and an
    expansion bomb as lxml's own words about amplification.
    """
    if any(doctype in data[:65536] for doctype in _DOCTYPE):
        raise StatementParseError(NO_DTD)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        raise StatementParseError(f"The XML is not well-formed: {exc.msg}.", line) from None
    if root.getroottree().docinfo.internalDTD is not None:  # further in than looked above
        raise StatementParseError(NO_DTD)
    reader = _Reader(root)
    statements_root = root.find(reader.q("BkToCstmrStmt"))
    if statements_root is None:
        raise StatementParseError("There is no <BkToCstmrStmt>: this is not a camt.053 "
                                  "bank statement.", root.sourceline, reader.path(root))
    statements = [reader.statement(element)
                  for element in statements_root.iterfind(reader.q("Stmt"))]
    if not statements:
        raise StatementParseError("The message holds no <Stmt> statement.",
                                  statements_root.sourceline, reader.path(statements_root))
    return statements


class _Reader:
    """Finds elements by local name in the document's one namespace."""

    def __init__(self, root: etree._Element) -> None:
        qname = etree.QName(root)
        namespace = qname.namespace or ""
        match = _NAMESPACE.match(namespace)
        if match and match["message"] != "camt.053":
            what = _MESSAGES.get(match["message"], f"a {match['message']} message")
            raise StatementParseError(f"The file is {what}, not a camt.053 bank statement.",
                                      root.sourceline, qname.localname)
        if qname.localname != "Document" or (namespace and not match):
            raise StatementParseError(
                f"The XML's root is <{qname.localname}>"
                + (f" in namespace {namespace}" if namespace else "")
                + ", not an ISO 20022 camt.053 <Document>.", root.sourceline, qname.localname)
        self.prefix = f"{{{namespace}}}" if namespace else ""

    def q(self, path: str) -> str:
        return _qualified(self.prefix, path)

    def text(self, element: etree._Element, path: str) -> str:
        return (element.findtext(self.q(path)) or "").strip()

    def path(self, element: etree._Element) -> str:
        """A readable path: Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt."""
        parts = []
        while element is not None:
            name = etree.QName(element).localname
            parent = element.getparent()
            if parent is not None:
                same = [e for e in parent if isinstance(e.tag, str) and e.tag == element.tag]
                if len(same) > 1:
                    name += f"[{same.index(element) + 1}]"
            parts.append(name)
            element = parent
        return "/".join(reversed(parts))

    def fail(self, element: etree._Element, message: str) -> StatementParseError:
        return StatementParseError(message, element.sourceline, self.path(element))

    # --- values --------------------------------------------------------------------------

    def amount(self, element: etree._Element, path: str = "Amt") -> tuple[Decimal, str]:
        found = element.find(self.q(path))
        if found is None:
            raise self.fail(element, f"<{path}> is missing: every entry needs an amount.")
        text = (found.text or "").strip()
        if not _AMOUNT.match(text):
            raise self.fail(found, f"{text!r} is not an amount (digits, a point for"
                                   " decimals, e.g. 1250.00).")
        currency = (found.get("Ccy") or "").strip()
        if not _CURRENCY.match(currency):
            raise self.fail(found, f"the amount's currency {currency!r} is not a"
                                   " 3-letter code (Ccy).")
        return Decimal(text), currency

    def sign(self, element: etree._Element) -> int:
        indicator = self.text(element, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            found = element.find(self.q("CdtDbtInd"))
            raise self.fail(found if found is not None else element,
                            f"the credit/debit indicator is {indicator or 'missing'!r}:"
                            " give CRDT or DBIT.")
        return 1 if indicator == "CRDT" else -1

    def day(self, element: etree._Element, path: str, required: bool = False) -> date | None:
        holder = element.find(self.q(path))
        text = ""
        if holder is not None:
            text = self.text(holder, "Dt") or self.text(holder, "DtTm")
        if not text:
            if required:
                raise self.fail(holder if holder is not None else element,
                                f"<{path}> has no date.")
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise self.fail(holder, f"{text!r} is not a date (YYYY-MM-DD).") from None

    # --- statements and entries ----------------------------------------------------------

    def statement(self, element: etree._Element) -> ParsedStatement:
        account = (self.text(element, "Acct/Id/IBAN")
                   or self.text(element, "Acct/Id/Othr/Id")).replace(" ", "")
        if not account:
            raise self.fail(element, "the statement names no account (Acct/Id).")
        statement_ref = self.text(element, "Id")
        if not statement_ref:
            raise self.fail(element, "the statement has no identification (<Id>).")
        balances = self._balances(element)
        currency = self.text(element, "Acct/Ccy")
        lines: list[ParsedLine] = []
        for entry in element.iterfind(self.q("Ntry")):
            lines.extend(self.entry(entry))
        if not currency:  # not given for the account: the balances' or the entries'
            currency = next((c for c, _, _ in balances.values()), "") or next(
                (line.currency for line in lines), "")
        opening = _balance(balances, OPENING_CODES, currency)
        closing = _balance(balances, CLOSING_CODES, currency)
        from_date = (_day_of(self.text(element, "FrToDt/FrDtTm"))
                     or min((line.booked_on for line in lines), default=None))
        to_date = (_day_of(self.text(element, "FrToDt/ToDtTm"))
                   or max((line.booked_on for line in lines), default=None))
        return ParsedStatement(
            account=account, currency=currency, statement_ref=statement_ref,
            opening_balance=opening[0] if opening else None,
            closing_balance=closing[0] if closing else None,
            from_date=from_date, to_date=to_date, lines=tuple(lines),
            warnings=balance_warning(statement_ref, opening and opening[0],
                                     closing and closing[0], lines))

    def _balances(self, element: etree._Element) -> dict[str, tuple[str, Decimal, date | None]]:
        found: dict[str, tuple[str, Decimal, date | None]] = {}
        for balance in element.iterfind(self.q("Bal")):
            code = (self.text(balance, "Tp/CdOrPrtry/Cd")
                    or self.text(balance, "Tp/CdOrPrtry/Prtry"))
            amount, currency = self.amount(balance)
            found.setdefault(code, (currency, amount * self.sign(balance),
                                    self.day(balance, "Dt")))
        return found

    def entry(self, entry: etree._Element) -> list[ParsedLine]:
        status = self.text(entry, "Sts/Cd") or self.text(entry, "Sts")
        if status and status != "BOOK":
            return []  # pending or information only: not on the account yet
        amount, currency = self.amount(entry)
        sign = self.sign(entry)
        booked_on = self.day(entry, "BookgDt", required=True)
        common = {"booked_on": booked_on, "value_date": self.day(entry, "ValDt"),
                  "currency": currency, "source_line": entry.sourceline}
        entry_reference = self.text(entry, "AcctSvcrRef") or self.text(entry, "NtryRef")
        entry_text = collapse(self.text(entry, "AddtlNtryInf"))
        details = list(entry.iterfind(self.q("NtryDtls/TxDtls")))
        parts = [self._transaction_amount(tx) for tx in details]
        if len(details) > 1 and all(parts) and sum(parts, Decimal(0)) == amount:
            return [ParsedLine(amount=part * sign, **{**common, "source_line": tx.sourceline},
                               **self._details(tx, sign, entry_reference, entry_text))
                    for tx, part in zip(details, parts, strict=True)]
        merged = self._merge([self._details(tx, sign, entry_reference, entry_text)
                              for tx in details])
        if not details:
            merged = {"bank_reference": entry_reference, "remittance_text": entry_text}
        return [ParsedLine(amount=amount * sign, **common, **merged)]

    def _transaction_amount(self, tx: etree._Element) -> Decimal | None:
        for path in ("Amt", "AmtDtls/TxAmt/Amt"):
            if tx.find(self.q(path)) is not None:
                return self.amount(tx, path)[0]
        return None

    def _details(self, tx: etree._Element, sign: int, entry_reference: str,
                 entry_text: str) -> dict[str, str]:
        party = "Dbtr" if sign > 0 else "Cdtr"
        name = (self.text(tx, f"RltdPties/{party}/Nm")
                or self.text(tx, f"RltdPties/{party}/Pty/Nm")
                or self.text(tx, f"RltdPties/Ultmt{party}/Nm")
                or self.text(tx, f"RltdPties/Ultmt{party}/Pty/Nm"))
        account = (self.text(tx, f"RltdPties/{party}Acct/Id/IBAN")
                   or self.text(tx, f"RltdPties/{party}Acct/Id/Othr/Id"))
        references = [self.text(strd, "CdtrRefInf/Ref")
                      for strd in tx.iterfind(self.q("RmtInf/Strd"))]
        references = [ref for ref in references if ref]
        texts = [collapse(u.text) for u in tx.iterfind(self.q("RmtInf/Ustrd"))]
        texts += [(nb.text or "").strip()
                  for nb in tx.iterfind(self.q("RmtInf/Strd/RfrdDocInf/Nb"))]
        texts += references[1:]  # more invoices paid at once: their references as text
        text = " ".join(t for t in texts if t) or collapse(self.text(tx, "AddtlTxInf")) \
            or entry_text
        return {"counterparty_name": collapse(name)[:200],
                "counterparty_account": account.replace(" ", "")[:40],
                "structured_reference": references[0].replace(" ", "")[:40]
                if references else "",
                "remittance_text": text,
                "bank_reference": (self.text(tx, "Refs/AcctSvcrRef") or entry_reference)[:100]}

    @staticmethod
    def _merge(details: list[dict[str, str]]) -> dict[str, str]:
        """One line for several transactions: the first party, every text."""
        if len(details) <= 1:
            return details[0] if details else {}
        first = next((d for d in details if d["counterparty_name"]), details[0])
        references = {d["structured_reference"] for d in details} - {""}
        texts = [d["remittance_text"] for d in details if d["remittance_text"]]
        return {"counterparty_name": first["counterparty_name"],
                "counterparty_account": first["counterparty_account"],
                "structured_reference": references.pop() if len(references) == 1 else "",
                "remittance_text": " / ".join(dict.fromkeys(texts)),
                "bank_reference": details[0]["bank_reference"]}


@lru_cache(maxsize=256)
def _qualified(prefix: str, path: str) -> str:
    if path == ".":
        return path
    return "/".join(f"{prefix}{part}" for part in path.split("/"))


def _balance(balances: dict[str, tuple[str, Decimal, date | None]], codes: tuple[str, ...],
             currency: str) -> tuple[Decimal, date | None] | None:
    for code in codes:
        if code in balances and balances[code][0] == currency:
            return balances[code][1], balances[code][2]
    return None


def _day_of(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None
