"""From a document to its PDF: the Printable value, and rendering it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer

from saas.billing.documents import printable as p
from saas.billing.documents.issuing import snapshot_buyer, snapshot_seller
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.pdf import render_pdf
from saas.billing.documents.services import document_totals, today
from saas.billing.documents.states import DocumentKind
from saas.billing.money import quantize_money
from saas.extensions import db
from saas.queue import job
from saas.tenants.services import stored_branding

K = DocumentKind


def _party(data: dict) -> p.Party:
    return p.Party(
        name=data.get("name", ""),
        address_lines=tuple(data.get("address_lines", ())),
        country=data.get("country", ""),
        org_number=data.get("org_number", ""),
        vat_id=data.get("vat_id", ""),
        email=data.get("email", ""),
    )


def printable(document: Document) -> p.Printable:
    """The document as printed. Drafts (previews) use today's customer and tenant data."""
    seller = document.seller or snapshot_seller(document.currency)
    buyer = document.buyer or snapshot_buyer(document.customer)
    branding = stored_branding()
    totals = document_totals(document)
    references = []
    if document.source is not None and document.source.number:
        references.append((document.source.kind.label, document.source.number))
    line_references = _line_references(document)
    converted_vat = None
    if document.currency != document.tenant_currency and document.exchange_rate:
        converted_vat = quantize_money(totals.vat * document.exchange_rate,
                                       document.tenant_currency)
    return p.Printable(
        kind=str(document.kind),
        number=document.number or "",
        language=document.language,
        currency=document.currency,
        issue_date=document.issue_date or today(),
        seller=_party(seller),
        buyer=_party(buyer),
        lines=tuple(
            p.PrintLine(
                position=line.position, description=line.description,
                quantity=line.quantity, unit=line.unit, unit_price=line.net_unit_price,
                discount_percent=line.discount_percent, vat_code=line.vat_code,
                vat_rate=line.vat_rate, net=line.net, site=line.site_label,
                reference=line_references.get(line.id, ""),
            )
            for line in document.lines
        ),
        vat_rows=tuple(
            p.VatRow(code=row.code, rate=row.rate, category=row.category, note=row.note,
                     net=row.net, vat=row.vat)
            for row in totals.rows
        ),
        net_total=totals.net,
        vat_total=totals.vat,
        gross_total=totals.gross,
        delivery_date=document.delivery_date,
        due_date=document.due_date,
        valid_until=document.valid_until,
        payment_terms_days=(document.payment_terms_days
                            if document.kind in (K.INVOICE, K.PROFORMA) else None),
        payment_reference=document.payment_reference,
        reference_scheme=seller.get("reference_scheme") or "",
        bank_accounts=tuple(
            p.BankDetails(**account) for account in seller.get("bank_accounts", ())
        ) if document.kind in (K.INVOICE, K.PROFORMA) else (),
        primary_color=seller.get("primary_color") or "#1f4e79",
        logo=branding.logo if branding is not None else None,
        logo_mime=branding.logo_mime if branding is not None else None,
        footer_text=seller.get("footer_text", ""),
        notes=document.notes,
        references=tuple(references),
        tenant_currency=document.tenant_currency,
        exchange_rate=(document.exchange_rate
                       if document.currency != document.tenant_currency else None),
        vat_total_in_tenant_currency=converted_vat,
        balance=document.balance_before if document.show_balance else None,
        payment_demand=document.payment_demand and document.kind == K.INVOICE,
    )


def _line_references(document: Document) -> dict[int, str]:
    """Per line, the other document it continues ("Order confirmation OC-…"), in one query.

    Lines continuing the document's own source say nothing: the header names it.
    """
    source_ids = {line.source_line_id for line in document.lines if line.source_line_id}
    if not source_ids:
        return {}
    statement = (
        select(DocumentLine.id, Document)
        .join(Document, Document.id == DocumentLine.document_id)
        .where(DocumentLine.id.in_(source_ids), Document.number.is_not(None)))
    if document.source_id is not None:
        statement = statement.where(Document.id != document.source_id)
    parents = dict(db.session.execute(statement).all())
    return {line.id: f"{parents[line.source_line_id].kind.label}"
                     f" {parents[line.source_line_id].number}"
            for line in document.lines if line.source_line_id in parents}


def render_document_pdf(document: Document) -> bytes:
    return render_pdf(printable(document))


def stored_or_preview_pdf(document: Document) -> bytes:
    """An issued document's stored PDF (never re-rendered); a draft's fresh preview."""
    if document.is_issued:
        return issued_pdf(document)
    return render_document_pdf(document)


def issued_pdf(document: Document) -> bytes:
    """An issued document's PDF: the stored one, else rendered now and stored for good.

    Documents issued in bulk (billing runs) are issued without their PDF, which is rendered
    afterwards (``store_pdfs``) or when first needed. Their hash chain covers what the PDF
    prints, not its bytes: ``pdf_sha256`` stays empty, and the PDF, once stored, is set.
    """
    if document.pdf is None:
        document.pdf = render_document_pdf(document)
    return document.pdf


# PDFs stored per commit by store_pdfs: one commit (and its WAL flush) per PDF cost about as
# much as a third of a render on a busy machine; a job killed half way loses at most this
# many renders, and run again it renders only what is still missing.
STORE_COMMIT_EVERY = 25


@job
def store_pdfs(document_ids: list[int]) -> int:
    """Job: render and store the PDFs of issued documents that have none; how many."""
    stored = 0
    for start in range(0, len(document_ids), STORE_COMMIT_EVERY):
        # The batch's documents and their lines in two queries, not two per document.
        documents = db.session.scalars(
            select(Document).where(Document.id.in_(document_ids[start:start + STORE_COMMIT_EVERY]),
                                   Document.number.is_not(None), Document.pdf.is_(None))
            .options(undefer(Document.pdf), selectinload(Document.lines))
            .order_by(Document.id)).all()
        for document in documents:
            issued_pdf(document)
            stored += 1
        db.session.commit()
    return stored
