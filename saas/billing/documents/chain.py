"""The hash chain of issued documents (R3.5): tamper evidence per number series.

Each issued document stores ``chain_hash = SHA-256(previous_hash + canonical content)``,
where the canonical content is a JSON text of everything the document says (number,
dates, parties, lines, totals, the PDF's hash). Changing any issued value, removing a
document or inserting one breaks the chain from there on; ``flask documents verify``
recomputes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64

_PLACES = {"money": 4, "quantity": 4, "percent": 2, "rate": 8}


def _fixed(value: Decimal | None, kind: str) -> str | None:
    """A decimal as text with the column's scale, so 1.5 and 1.5000 hash alike."""
    if value is None:
        return None
    return f"{Decimal(value):.{_PLACES[kind]}f}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def canonical_content(document: Any) -> bytes:
    """Return the document's issued content as canonical JSON bytes."""
    content = {
        "kind": str(document.kind),
        "number": document.number,
        "counter": document.counter,
        "period": document.period,
        "chain_position": document.chain_position,
        "source_id": document.source_id,
        "customer_id": document.customer_id,
        "currency": document.currency,
        "tenant_currency": document.tenant_currency,
        "exchange_rate": _fixed(document.exchange_rate, "rate"),
        "language": document.language,
        "issue_date": _day(document.issue_date),
        "delivery_date": _day(document.delivery_date),
        "due_date": _day(document.due_date),
        "valid_until": _day(document.valid_until),
        "payment_terms_days": document.payment_terms_days,
        "payment_reference": document.payment_reference,
        "notes": document.notes,
        "net_total": _fixed(document.net_total, "money"),
        "vat_total": _fixed(document.vat_total, "money"),
        "gross_total": _fixed(document.gross_total, "money"),
        "balance_before": _fixed(document.balance_before, "money"),
        "seller": document.seller,
        "buyer": document.buyer,
        "pdf_sha256": document.pdf_sha256,
        "lines": [
            {
                "position": line.position,
                "product_id": line.product_id,
                "description": line.description,
                "quantity": _fixed(line.quantity, "quantity"),
                "unit": line.unit,
                "unit_price": _fixed(line.unit_price, "money"),
                "discount_percent": _fixed(line.discount_percent, "percent"),
                "net": _fixed(line.net, "money"),
                "vat_code": line.vat_code,
                "vat_rate": _fixed(line.vat_rate, "percent"),
                "vat_category": line.vat_category,
                "vat_note": line.vat_note,
                "site_id": line.site_id,
                "site_label": line.site_label,
                "source_line_id": line.source_line_id,
            }
            for line in sorted(document.lines, key=lambda line: line.position)
        ],
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(previous_hash: str, content: bytes) -> str:
    return hashlib.sha256(previous_hash.encode() + content).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    kind: str
    number: str | None
    problem: str


def verify_series(kind: str, documents: Iterable[Any]) -> list[ChainBreak]:
    """Check one series' documents (in chain order): hashes, links, PDFs and number gaps."""
    breaks: list[ChainBreak] = []
    previous = GENESIS
    expected_position = 1
    counters: dict[str, int] = {}
    for document in documents:
        number = document.number
        if document.chain_position != expected_position:
            breaks.append(ChainBreak(kind, number, (
                f"chain position {document.chain_position}, expected {expected_position}:"
                " a document is missing or was inserted"
            )))
            expected_position = document.chain_position or expected_position
        expected_position += 1
        if document.previous_hash != previous:
            breaks.append(ChainBreak(kind, number, "does not link to the previous document"))
        if chain_hash(document.previous_hash or "", canonical_content(document)) != (
            document.chain_hash
        ):
            breaks.append(ChainBreak(kind, number, "its content does not match its hash"))
        pdf = document.pdf
        if document.pdf_sha256 is not None and (
            pdf is None or hashlib.sha256(pdf).hexdigest() != document.pdf_sha256
        ):
            breaks.append(ChainBreak(kind, number, "its stored PDF does not match its hash"))
        last = counters.get(document.period or "", 0)
        if document.counter != last + 1:
            breaks.append(ChainBreak(kind, number, (
                f"number gap: counter {document.counter} follows {last} in period"
                f" {document.period or '(no reset)'}"
            )))
        counters[document.period or ""] = max(last, document.counter or 0)
        previous = document.chain_hash or ""
    return breaks
