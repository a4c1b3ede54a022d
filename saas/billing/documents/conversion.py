"""The chain (R3.2, R3.7, R3.8): quote → order → invoice, proforma → invoice, credit notes.

Each step copies the document and its lines into a new draft linked by ``source_id`` and
``source_line_id``; the draft can be edited before it is issued. An order can be invoiced
in parts, an invoice credited in parts; what is left is counted from issued documents
and checked again when the next one is issued, so two drafts cannot together take more
than there is.

A credit note line credits its invoice line either by quantity (a copy of the line at its
price: 2 of 5 hours) or by amount (a part of the line's net that no quantity expresses
exactly, such as the 16 unused days of a month billed in advance: one unit at the amount
credited). A line is credited by amount when its net unit price differs from the invoice
line's. Amounts are limited by the net left on the invoice line; in quantities, an amount
counts as its share of the line's quantity, rounded up to the quantity's 4 decimals (so
what is left is never overstated), and amounts adding up to the line's whole net count as
its whole quantity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import ceil

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from saas.billing.catalog.services import plain_decimal as _n
from saas.billing.documents.issuing import issue_document
from saas.billing.documents.models import Document, DocumentLine, net_unit_price
from saas.billing.documents.services import DocumentError, create_document, move, recalculate
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.tax import line_net
from saas.extensions import db

K, S = DocumentKind, DocumentStatus
ZERO = Decimal(0)

COPIED_LINE_FIELDS = (
    "product_id", "description", "quantity", "unit", "unit_price", "discount_percent", "net",
    "vat_rate_id", "vat_code", "vat_rate", "vat_category", "vat_note", "site_id",
    "site_label", "price_explanation",
)


def _copy(source: Document, kind: DocumentKind, quantities: Mapping[int, Decimal] | None,
          *, sign: int = 1, user_id: int | None = None,
          amounts: Mapping[int, Decimal] | None = None) -> Document:
    """A draft of the kind with the source's header and (some of) its lines.

    ``amounts`` takes a line by amount instead: one unit at that (positive) amount.
    """
    draft = create_document(
        kind, source.customer,
        {"currency": source.currency, "language": source.language,
         "payment_terms_days": source.payment_terms_days, "notes": source.notes,
         "delivery_date": source.delivery_date,
         # A credit note is not paid with a reference: the invoice's stays the invoice's.
         "payment_reference": "" if kind == K.CREDIT_NOTE else source.payment_reference},
        source=source, user_id=user_id,
    )
    draft.source_id = source.id
    position = 0
    for line in source.lines:
        amount = (amounts or {}).get(line.id, ZERO)
        quantity = line.quantity if quantities is None else quantities.get(line.id, ZERO)
        if quantity == 0 and amount == 0:
            continue
        position += 1
        copy = DocumentLine(position=position, source_line_id=line.id,
                            **{name: getattr(line, name) for name in COPIED_LINE_FIELDS})
        if amount:
            copy.quantity, copy.unit = Decimal(sign), ""
            copy.unit_price, copy.discount_percent = amount, ZERO
            copy.net = line_net(copy.quantity, amount, source.currency)
        else:
            copy.quantity = sign * quantity
            copy.net = line_net(copy.quantity, line.net_unit_price, source.currency)
        draft.lines.append(copy)
    if not draft.lines:
        raise DocumentError("Choose at least one line and a quantity.")
    recalculate(draft)
    db.session.flush()
    return draft


def _successors(document: Document, kind: DocumentKind) -> list[Document]:
    return db.session.scalars(
        select(Document).where(Document.source_id == document.id, Document.kind == kind)
        .order_by(Document.id)).all()


# --- quote → order -----------------------------------------------------------------------


def convert_quote_to_order(quote: Document, *, user_id: int | None = None) -> Document:
    """Turn an accepted (or sent: accepting it) quote into a draft order confirmation."""
    if quote.kind != K.QUOTE:
        raise DocumentError("Only a quote becomes an order confirmation.")
    if quote.status == S.CONVERTED:
        orders = _successors(quote, K.ORDER)
        raise DocumentError(f"{quote.title} was already converted"
                            + (f" to {orders[0].title}." if orders else "."))
    if quote.status in (S.SENT, S.EXPIRED):
        move(quote, S.ACCEPTED, user_id=user_id)
    if quote.status != S.ACCEPTED:
        raise DocumentError(f"{quote.title} is {quote.status.label.lower()}: only a sent or"
                            " accepted quote becomes an order.")
    order = _copy(quote, K.ORDER, None, user_id=user_id)
    move(quote, S.CONVERTED, user_id=user_id)
    return order


# --- order → invoice (partly) --------------------------------------------------------------


def by_amount(credit_line: DocumentLine, invoice_line: DocumentLine) -> bool:
    """Whether a credit note line credits its invoice line by amount (see the top)."""
    return credit_line.net_unit_price != invoice_line.net_unit_price


@dataclass(frozen=True)
class Credited:
    """What issued credit notes took of one invoice line (all positive)."""

    quantity: Decimal = ZERO  # by quantity
    amount: Decimal = ZERO  # by amount (net)
    net: Decimal = ZERO  # all of it, net

    def quantity_of(self, quantity: Decimal, net: Decimal) -> Decimal:
        """The quantity credited of a line of that quantity and net, amounts as shares."""
        if not self.amount or not net:
            return self.quantity
        share = Fraction(quantity) * Fraction(self.amount) / Fraction(net)
        return self.quantity + Decimal(ceil(share * 10_000)).scaleb(-4)


def _issued_credits(invoice_line_ids: list[int]) -> dict[int, Credited]:
    """Per invoice line, what issued credit notes took of it."""
    if not invoice_line_ids:
        return {}
    credited_line, invoice_line = aliased(DocumentLine), aliased(DocumentLine)
    rows = db.session.execute(
        select(credited_line.source_line_id, credited_line.quantity, credited_line.unit_price,
               credited_line.discount_percent, credited_line.net, invoice_line.unit_price,
               invoice_line.discount_percent)
        .join(Document, Document.id == credited_line.document_id)
        .join(invoice_line, invoice_line.id == credited_line.source_line_id)
        .where(credited_line.source_line_id.in_(invoice_line_ids),
               Document.kind == K.CREDIT_NOTE, Document.number.is_not(None))).all()
    found: dict[int, Credited] = {}
    for line_id, quantity, price, discount, net, invoice_price, invoice_discount in rows:
        was = found.get(line_id, Credited())
        if net_unit_price(price, discount) != net_unit_price(invoice_price, invoice_discount):
            found[line_id] = Credited(was.quantity, was.amount - net, was.net - net)
        else:
            found[line_id] = Credited(was.quantity - quantity, was.amount, was.net - net)
    return found


def _credited_through(invoice_line_ids: list[int]) -> dict[int, Decimal]:
    """Quantities credited (positive) on the given invoice lines by issued credit notes."""
    credited = _issued_credits(invoice_line_ids)
    if not any(c.amount for c in credited.values()):
        return {line_id: c.quantity for line_id, c in credited.items()}
    lines = {line.id: line for line in db.session.scalars(
        select(DocumentLine).where(DocumentLine.id.in_(list(credited))))}
    return {line_id: c.quantity_of(lines[line_id].quantity, lines[line_id].net)
            for line_id, c in credited.items()}


def order_remaining(order: Document) -> dict[int, Decimal]:
    """Per order line, the quantity not yet invoiced by issued invoices (net of credits)."""
    ids = [line.id for line in order.lines]
    invoice_lines = db.session.execute(
        select(DocumentLine.id, DocumentLine.source_line_id, DocumentLine.quantity)
        .join(Document, Document.id == DocumentLine.document_id)
        .where(DocumentLine.source_line_id.in_(ids), Document.kind == K.INVOICE,
               Document.number.is_not(None))).all() if ids else []
    credited = _credited_through([row.id for row in invoice_lines])
    invoiced: dict[int, Decimal] = {}
    for row in invoice_lines:
        invoiced[row.source_line_id] = (invoiced.get(row.source_line_id, ZERO) + row.quantity
                                        - credited.get(row.id, ZERO))
    return {line.id: line.quantity - invoiced.get(line.id, ZERO) for line in order.lines}


def invoice_order(order: Document, quantities: Mapping[int, Decimal] | None = None,
                  *, user_id: int | None = None) -> Document:
    """A draft invoice for what is left of the order, or for the chosen line quantities."""
    if order.kind != K.ORDER or order.status not in (S.CONFIRMED, S.PARTLY_INVOICED):
        raise DocumentError("Only a confirmed order that is not fully invoiced can be invoiced.")
    remaining = order_remaining(order)
    chosen = dict(remaining) if quantities is None else dict(quantities)
    for line in order.lines:
        wanted = chosen.get(line.id, ZERO)
        if wanted < 0:
            raise DocumentError(f"Line {line.position}: a quantity cannot be negative.",
                                f"quantity-{line.id}")
        if wanted > remaining[line.id]:
            raise DocumentError(
                f"Line {line.position} ({line.description}): {_n(wanted)} is more than the"
                f" {_n(remaining[line.id])} left to invoice.", f"quantity-{line.id}")
    return _copy(order, K.INVOICE, chosen, user_id=user_id)


# --- proforma → invoice ------------------------------------------------------------------


def convert_proforma(proforma: Document, *, user_id: int | None = None) -> Document:
    """A paid proforma becomes the final invoice (R3.7): issued at once, and settled by
    the prepayment (the customer's credit, ``payments.services.record_prepayment``)."""
    from saas.billing.payments.services import settle_from_credit  # payments build on this

    if proforma.kind != K.PROFORMA or proforma.status != S.PAID:
        raise DocumentError("Only a paid proforma invoice becomes the final invoice.")
    invoice = _copy(proforma, K.INVOICE, None, user_id=user_id)
    issue_document(invoice, user_id=user_id)
    settle_from_credit(invoice, on=invoice.issue_date, user_id=user_id)
    move(proforma, S.CONVERTED, user_id=user_id)
    return invoice


# --- credit notes ------------------------------------------------------------------------


def credit_remaining(invoice: Document) -> dict[int, Decimal]:
    """Per invoice line, the quantity not yet credited by issued credit notes."""
    credited = _issued_credits([line.id for line in invoice.lines])
    return {line.id: line.quantity - credited.get(line.id, Credited()).quantity_of(
        line.quantity, line.net) for line in invoice.lines}


def credit_left(invoice: Document) -> dict[int, Decimal]:
    """Per invoice line, the net not yet credited by issued credit notes (what an amount
    may still take); nothing on a line credited in full by quantity."""
    credited = _issued_credits([line.id for line in invoice.lines])
    left = {}
    for line in invoice.lines:
        took = credited.get(line.id, Credited())
        done = not took.amount and took.quantity >= line.quantity
        left[line.id] = ZERO if done else max(line.net - took.net, ZERO)
    return left


def _amount_credited(invoice: Document) -> set[int]:
    """The invoice lines issued credit notes took (part of) by amount."""
    credited = _issued_credits([line.id for line in invoice.lines])
    return {line_id for line_id, took in credited.items() if took.amount}


def fully_credited(invoice: Document) -> bool:
    """Nothing is left to credit on any line of the invoice."""
    remaining, left = credit_remaining(invoice), credit_left(invoice)
    partly = _amount_credited(invoice)
    return all(remaining[line.id] <= 0 and (line.id not in partly or left[line.id] <= 0)
               for line in invoice.lines)


def create_credit_note(invoice: Document, quantities: Mapping[int, Decimal] | None = None,
                       *, amounts: Mapping[int, Decimal] | None = None,
                       user_id: int | None = None) -> Document:
    """A draft credit note for all that is left to credit, or for chosen line quantities
    and (``amounts``: invoice line id → net) amounts.

    Quantities and amounts are given as positive numbers to credit; the credit note's lines
    carry them negated, so its totals are negative. A line credited by amount is one unit
    at the amount (see the top); "all that is left" of a line credited by amount before is
    the net left on it.
    """
    if invoice.kind != K.INVOICE or invoice.is_draft:
        raise DocumentError("Only an issued invoice can be credited; a draft can be edited.")
    if fully_credited(invoice):
        raise DocumentError(f"{invoice.title} is fully credited already.")
    remaining, left = credit_remaining(invoice), credit_left(invoice)
    if quantities is None and not amounts:
        partly = _amount_credited(invoice)
        chosen = {k: max(v, ZERO) for k, v in remaining.items() if k not in partly}
        amounts = {k: left[k] for k in partly if left[k] > 0}
    else:
        chosen = dict(quantities or {})
        amounts = dict(amounts or {})
    for line in invoice.lines:
        amount = amounts.get(line.id)
        if amount is not None:
            if chosen.get(line.id):
                raise DocumentError(f"Line {line.position}: credit a quantity or an amount,"
                                    " not both.", f"quantity-{line.id}")
            if amount <= 0:
                raise DocumentError(f"Line {line.position}: enter the amount to credit as a"
                                    " positive number.", f"quantity-{line.id}")
            if amount > left[line.id]:
                raise DocumentError(
                    f"Line {line.position} ({line.description}): {_n(amount, 2)}"
                    f" {invoice.currency} is more than the {_n(left[line.id], 2)}"
                    f" {invoice.currency} left to credit.", f"quantity-{line.id}")
            continue
        wanted = chosen.get(line.id, ZERO)
        if wanted == 0:
            continue
        if wanted < 0:
            raise DocumentError(f"Line {line.position}: enter the quantity to credit as a"
                                " positive number.", f"quantity-{line.id}")
        if wanted > remaining[line.id]:
            raise DocumentError(
                f"Line {line.position} ({line.description}): {_n(wanted)} is more than the"
                f" {_n(remaining[line.id])} left to credit.", f"quantity-{line.id}")
    return _copy(invoice, K.CREDIT_NOTE, chosen, sign=-1, user_id=user_id, amounts=amounts)


# --- checks and effects at issue ---------------------------------------------------------


def check_issue_limits(document: Document) -> None:
    """At issue, recheck against what other documents took since the draft was made."""
    if document.kind == K.CREDIT_NOTE and document.source is not None:
        remaining = credit_remaining(document.source)
        left = credit_left(document.source)
        by_amounts: dict[int, Decimal] = {}
        for line in document.lines:
            if line.source_line_id is None:
                continue
            if line.source_line is not None and by_amount(line, line.source_line):
                took = by_amounts[line.source_line_id] = (
                    by_amounts.get(line.source_line_id, ZERO) - line.net)
                if took > left.get(line.source_line_id, ZERO):
                    raise DocumentError(
                        f"Line {line.position} ({line.description}) credits {_n(took, 2)}"
                        f" {document.currency}, more than the"
                        f" {_n(left.get(line.source_line_id, ZERO), 2)} {document.currency}"
                        f" left to credit on line {line.source_line.position} of"
                        f" {document.source.title}.")
                continue
            if -line.quantity > remaining.get(line.source_line_id, ZERO):
                raise DocumentError(
                    f"Line {line.position} ({line.description}) credits {_n(-line.quantity)}, more"
                    f" than the {_n(remaining.get(line.source_line_id, ZERO))} left to credit on"
                    f" {document.source.title}.")
        credited = db.session.scalar(
            select(func.coalesce(func.sum(Document.gross_total), 0)).where(
                Document.source_id == document.source.id, Document.kind == K.CREDIT_NOTE,
                Document.number.is_not(None)))
        left = document.source.gross_total + Decimal(credited)
        if -document.gross_total > left:
            raise DocumentError(
                f"This credit note ({_n(-document.gross_total)} {document.currency}) is more than"
                f" the {_n(left)} {document.currency} left to credit on {document.source.title}.")
    if document.kind == K.INVOICE and document.source is not None and (
        document.source.kind == K.ORDER
    ):
        remaining = order_remaining(document.source)
        for line in document.lines:
            if line.source_line_id in remaining and line.quantity > remaining[line.source_line_id]:
                raise DocumentError(
                    f"Line {line.position} ({line.description}) invoices {_n(line.quantity)}, more"
                    f" than the {_n(remaining[line.source_line_id])} left on"
                    f" {document.source.title}.")


def after_issue(document: Document) -> None:
    """Move the documents this one continues: orders invoiced, invoices credited."""
    source = document.source
    if source is None:
        return
    db.session.flush()
    if document.kind == K.INVOICE and source.kind == K.ORDER:
        left = order_remaining(source)
        target = S.INVOICED if all(v <= 0 for v in left.values()) else S.PARTLY_INVOICED
        if source.status != target:
            move(source, target)
    elif document.kind == K.CREDIT_NOTE and source.kind == K.INVOICE:
        if fully_credited(source) and source.status != S.CREDITED:
            move(source, S.CREDITED)
        # Billable items the credited lines billed are open to bill again (R5.9).
        from saas.billing.work.items import reopen_credited

        reopen_credited(document)


# --- the chain view ----------------------------------------------------------------------


def chain_of(document: Document) -> list[tuple[int, Document]]:
    """The whole family of the document: its first ancestor, then every descendant.

    Returns (depth, document) pairs in tree order, for the chain view.
    """
    root = document
    seen = {root.id}
    while root.source is not None and root.source.id not in seen:
        root = root.source
        seen.add(root.id)
    family: list[tuple[int, Document]] = []
    child = aliased(Document)

    def walk(node: Document, depth: int) -> None:
        family.append((depth, node))
        for successor in db.session.scalars(
            select(child).where(child.source_id == node.id).order_by(child.id)
        ):
            walk(successor, depth + 1)

    walk(root, 0)
    return family
