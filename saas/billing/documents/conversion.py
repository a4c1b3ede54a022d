"""The chain (R3.2, R3.7, R3.8): quote → order → invoice, proforma → invoice, credit notes.

Each step copies the document and its lines into a new draft linked by ``source_id`` and
``source_line_id``; the draft can be edited before it is issued. An order can be invoiced
in parts, an invoice credited in parts; what is left is counted from issued documents
and checked again when the next one is issued, so two drafts cannot together take more
than there is.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from saas.billing.catalog.services import plain_decimal as _n
from saas.billing.documents.issuing import issue_document
from saas.billing.documents.models import Document, DocumentLine
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
          *, sign: int = 1, user_id: int | None = None) -> Document:
    """A draft of the kind with the source's header and (some of) its lines."""
    draft = create_document(
        kind, source.customer,
        {"currency": source.currency, "language": source.language,
         "payment_terms_days": source.payment_terms_days, "notes": source.notes,
         "delivery_date": source.delivery_date, "payment_reference": source.payment_reference},
        source=source, user_id=user_id,
    )
    draft.source_id = source.id
    position = 0
    for line in source.lines:
        quantity = line.quantity if quantities is None else quantities.get(line.id, ZERO)
        if quantity == 0:
            continue
        position += 1
        copy = DocumentLine(position=position, source_line_id=line.id,
                            **{name: getattr(line, name) for name in COPIED_LINE_FIELDS})
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


def _issued_quantities(source_line_ids: list[int], kind: DocumentKind,
                       *, exclude_document: int | None = None) -> dict[int, Decimal]:
    """Sum of quantities on issued documents of the kind per source line."""
    if not source_line_ids:
        return {}
    statement = (
        select(DocumentLine.source_line_id, func.sum(DocumentLine.quantity))
        .join(Document, Document.id == DocumentLine.document_id)
        .where(DocumentLine.source_line_id.in_(source_line_ids), Document.kind == kind,
               Document.number.is_not(None))
        .group_by(DocumentLine.source_line_id)
    )
    if exclude_document is not None:
        statement = statement.where(Document.id != exclude_document)
    return {line_id: Decimal(total) for line_id, total in db.session.execute(statement)}


def _credited_through(invoice_line_ids: list[int]) -> dict[int, Decimal]:
    """Quantities credited (positive) on the given invoice lines by issued credit notes."""
    return {k: -v for k, v in _issued_quantities(invoice_line_ids, K.CREDIT_NOTE).items()}


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
    """A paid proforma becomes the final invoice (R3.7): issued at once, and paid."""
    if proforma.kind != K.PROFORMA or proforma.status != S.PAID:
        raise DocumentError("Only a paid proforma invoice becomes the final invoice.")
    invoice = _copy(proforma, K.INVOICE, None, user_id=user_id)
    issue_document(invoice, user_id=user_id)
    move(invoice, S.PAID, user_id=user_id)
    move(proforma, S.CONVERTED, user_id=user_id)
    return invoice


# --- credit notes ------------------------------------------------------------------------


def credit_remaining(invoice: Document) -> dict[int, Decimal]:
    """Per invoice line, the quantity not yet credited by issued credit notes."""
    credited = _credited_through([line.id for line in invoice.lines])
    return {line.id: line.quantity - credited.get(line.id, ZERO) for line in invoice.lines}


def create_credit_note(invoice: Document, quantities: Mapping[int, Decimal] | None = None,
                       *, user_id: int | None = None) -> Document:
    """A draft credit note for all that is left to credit, or for chosen line quantities.

    Quantities are given as positive amounts to credit; the credit note's lines carry them
    negated, so its totals are negative.
    """
    if invoice.kind != K.INVOICE or invoice.is_draft:
        raise DocumentError("Only an issued invoice can be credited; a draft can be edited.")
    remaining = credit_remaining(invoice)
    if all(value <= 0 for value in remaining.values()):
        raise DocumentError(f"{invoice.title} is fully credited already.")
    chosen = dict(remaining) if quantities is None else dict(quantities)
    for line in invoice.lines:
        wanted = chosen.get(line.id, ZERO)
        if wanted < 0:
            raise DocumentError(f"Line {line.position}: enter the quantity to credit as a"
                                " positive number.", f"quantity-{line.id}")
        if wanted > remaining[line.id]:
            raise DocumentError(
                f"Line {line.position} ({line.description}): {_n(wanted)} is more than the"
                f" {_n(remaining[line.id])} left to credit.", f"quantity-{line.id}")
    return _copy(invoice, K.CREDIT_NOTE, chosen, sign=-1, user_id=user_id)


# --- checks and effects at issue ---------------------------------------------------------


def check_issue_limits(document: Document) -> None:
    """At issue, recheck against what other documents took since the draft was made."""
    if document.kind == K.CREDIT_NOTE and document.source is not None:
        remaining = credit_remaining(document.source)
        for line in document.lines:
            if line.source_line_id is None:
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
        if all(v <= 0 for v in credit_remaining(source).values()) and (
            source.status != S.CREDITED
        ):
            move(source, S.CREDITED)


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
