"""Write a camt.053.001.02 statement from lines (pure): the demo's statement, test files,
the benchmark's. What ``camt053.parse_camt053`` reads back is the lines given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from saas.billing.payments.statements import ParsedLine

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def build_camt053(lines: Sequence[ParsedLine], *, account: str, currency: str,
                  statement_id: str, opening_balance: Decimal = Decimal(0),
                  created: datetime | None = None) -> bytes:
    """A camt.053 message of one statement with the lines, balances adding up."""
    created = created or datetime(2026, 11, 30, 6, 0, 0)
    element = _Builder()
    document = element("Document", nsmap={None: NAMESPACE})
    message = element("BkToCstmrStmt", parent=document)
    header = element("GrpHdr", parent=message)
    element("MsgId", f"MSG-{statement_id}", header)
    element("CreDtTm", created.isoformat(timespec="seconds"), header)
    statement = element("Stmt", parent=message)
    element("Id", statement_id, statement)
    element("CreDtTm", created.isoformat(timespec="seconds"), statement)
    days = [line.booked_on for line in lines] or [created.date()]
    period = element("FrToDt", parent=statement)
    element("FrDtTm", f"{min(days).isoformat()}T00:00:00", period)
    element("ToDtTm", f"{max(days).isoformat()}T23:59:59", period)
    holder = element("Acct", parent=statement)
    element("IBAN", account, element("Id", parent=holder))
    element("Ccy", currency, holder)
    closing = opening_balance + sum((line.amount for line in lines), Decimal(0))
    _balance(element, statement, "OPBD", opening_balance, currency, min(days))
    _balance(element, statement, "CLBD", closing, currency, max(days))
    for number, line in enumerate(lines, start=1):
        _entry(element, statement, line, f"{statement_id}-{number:06d}")
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class _Builder:
    def __call__(self, name: str, text: str | None = None,
                 parent: etree._Element | None = None, **attributes: object) -> etree._Element:
        tag = f"{{{NAMESPACE}}}{name}"
        nsmap = attributes.pop("nsmap", None)
        made = (etree.SubElement(parent, tag, {k: str(v) for k, v in attributes.items()})
                if parent is not None else etree.Element(tag, nsmap=nsmap))
        if text is not None:
            made.text = text
        return made


def _amount(element: _Builder, parent: etree._Element, value: Decimal, currency: str,
            name: str = "Amt") -> None:
    element(name, f"{abs(value)}", parent, Ccy=currency)


def _balance(element: _Builder, statement: etree._Element, code: str, value: Decimal,
             currency: str, on: date) -> None:
    balance = element("Bal", parent=statement)
    element("Cd", code, element("CdOrPrtry", parent=element("Tp", parent=balance)))
    _amount(element, balance, value, currency)
    element("CdtDbtInd", "CRDT" if value >= 0 else "DBIT", balance)
    element("Dt", on.isoformat(), element("Dt", parent=balance))


def _entry(element: _Builder, statement: etree._Element, line: ParsedLine,
           reference: str) -> None:
    entry = element("Ntry", parent=statement)
    indicator = "CRDT" if line.amount >= 0 else "DBIT"
    _amount(element, entry, line.amount, line.currency)
    element("CdtDbtInd", indicator, entry)
    element("RvslInd", "false", entry)
    element("Sts", "BOOK", entry)
    element("Dt", line.booked_on.isoformat(), element("BookgDt", parent=entry))
    element("Dt", (line.value_date or line.booked_on).isoformat(),
            element("ValDt", parent=entry))
    element("AcctSvcrRef", line.bank_reference or reference, entry)
    _transaction_code(element, entry, indicator)
    details = element("TxDtls", parent=element("NtryDtls", parent=entry))
    # What a bank writes of every transaction, and the reader passes over.
    references = element("Refs", parent=details)
    element("EndToEndId", "NOTPROVIDED", references)
    element("TxId", reference, references)
    _amount(element, element("TxAmt", parent=element("AmtDtls", parent=details)),
            line.amount, line.currency)
    _transaction_code(element, details, indicator)
    party = "Dbtr" if line.amount >= 0 else "Cdtr"
    if line.counterparty_name or line.counterparty_account:
        parties = element("RltdPties", parent=details)
        if line.counterparty_name:
            element("Nm", line.counterparty_name, element(party, parent=parties))
        if line.counterparty_account:
            element("IBAN", line.counterparty_account,
                    element("Id", parent=element(f"{party}Acct", parent=parties)))
    if line.remittance_text or line.structured_reference:
        remittance = element("RmtInf", parent=details)
        if line.remittance_text:
            element("Ustrd", line.remittance_text, remittance)
        if line.structured_reference:
            creditor = element("CdtrRefInf", parent=element("Strd", parent=remittance))
            kind = element("CdOrPrtry", parent=element("Tp", parent=creditor))
            element("Cd", "SCOR", kind)
            element("Ref", line.structured_reference, creditor)


def _transaction_code(element: _Builder, parent: etree._Element, indicator: str) -> None:
    """ISO bank transaction code: a SEPA credit transfer received (or sent)."""
    domain = element("Domn", parent=element("BkTxCd", parent=parent))
    element("Cd", "PMNT", domain)
    family = element("Fmly", parent=domain)
    element("Cd", "RCDT" if indicator == "CRDT" else "ICDT", family)
    element("SubFmlyCd", "ESCT", family)
