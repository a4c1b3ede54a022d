"""Asking for an accountant export, building its ZIP, and reading the stored file back.

``request_export`` checks the period and records the export; the job (``build``) writes
the ZIP member by member into a temporary file, so memory stays flat however many PDFs
the period has, then stores it in chunks in the transaction that marks the export done:
the file appears whole or not at all. Running the job again on a finished export does
nothing; on one that failed or was cut short it starts over.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import selectinload, undefer

from saas import clock
from saas.billing.documents.models import Document
from saas.billing.documents.services import document_totals
from saas.billing.einvoice.ubl import ROOTS, document_xml
from saas.billing.exports import tables
from saas.billing.exports.models import AccountantExport, ExportChunk, ExportStatus
from saas.billing.exports.periods import ExportError, check_period
from saas.billing.reports import queries as report_queries
from saas.billing.reports.exports import journal_csv
from saas.extensions import db
from saas.queue import DEFAULT_QUEUE, enqueue, job
from saas.tenants import audit, scoping
from saas.tenants.models import Tenant

log = logging.getLogger(__name__)

BATCH = 50  # documents loaded (with their PDFs) and committed as progress at a time
CHUNK_SIZE = 1024 * 1024  # bytes of the ZIP per stored chunk
Progress = Callable[[int, int], None]


def request_export(date_from: date | None, date_to: date | None, *,
                   user_id: int | None = None, queued: bool = True) -> AccountantExport:
    """Record an export of the period and queue its job (the caller commits).

    ``queued=False`` leaves building it to the caller (the CLI, with a progress bar).
    """
    date_from, date_to = check_period(date_from, date_to)
    export = AccountantExport(date_from=date_from, date_to=date_to, requested_by_id=user_id)
    db.session.add(export)
    db.session.flush()
    audit.record("exports.accountant", export,
                 f"Accountant export {date_from} to {date_to}", user_id=user_id)
    if queued:
        enqueue(build_accountant_export, export.id, tenant_id=scoping.require_tenant_id(),
                queue=DEFAULT_QUEUE,
                job_id=f"accountant-export-{scoping.require_tenant_id()}-{export.id}")
    return export


@job
def build_accountant_export(export_id: int) -> None:
    """Default-queue job: build an export's ZIP (again, unless it is done)."""
    build(export_id)


def _document_ids(date_from: date, date_to: date) -> list[int]:
    """The period's issued documents: invoices, credit notes, proformas, orders, quotes."""
    rows = db.session.execute(
        select(Document.id, Document.kind, Document.issue_date, Document.number)
        .where(Document.number.is_not(None), Document.issue_date >= date_from,
               Document.issue_date <= date_to)).all()
    order = {kind: n for n, kind in enumerate(tables.KINDS_IN_ORDER)}
    rows.sort(key=lambda r: (order.get(str(r.kind), 99), r.issue_date, r.number))
    return [row.id for row in rows]


def build(export_id: int, progress: Progress | None = None) -> AccountantExport | None:
    """Build the export's ZIP and store it; commit progress as it goes (a job's body)."""
    export = db.session.get(AccountantExport, export_id)
    if export is None or export.status == ExportStatus.DONE:
        return export
    export.status, export.error, export.done = ExportStatus.RUNNING, "", 0
    ids = _document_ids(export.date_from, export.date_to)
    export.total = len(ids)
    db.session.commit()
    try:
        with tempfile.TemporaryFile(prefix="accountant-export-") as part:
            _write_zip(part, export_id, ids, progress)
            export = db.session.get(AccountantExport, export_id)
            _store(part, export)
    except Exception as exc:  # any failure ends the export visibly, nothing half stored
        db.session.rollback()
        log.exception("accountant export %s failed", export_id)
        export = db.session.get(AccountantExport, export_id)
        export.status, export.finished_at = ExportStatus.FAILED, clock.now()
        export.error = str(exc) if isinstance(exc, ExportError) else (
            f"The export failed ({type(exc).__name__}); ask again, or tell support.")
        db.session.commit()
        return export
    db.session.commit()
    return export


def _store(part: IO[bytes], export: AccountantExport) -> None:
    """The ZIP as chunks, and the export done, in the transaction the caller commits."""
    tenant_id = scoping.require_tenant_id()
    db.session.execute(delete(ExportChunk).where(ExportChunk.export_id == export.id))
    digest, size, position = hashlib.sha256(), 0, 0
    part.seek(0)
    while data := part.read(CHUNK_SIZE):
        digest.update(data)
        size += len(data)
        db.session.execute(insert(ExportChunk).values(
            tenant_id=tenant_id, export_id=export.id, position=position, data=data))
        position += 1
    tenant = db.session.get(Tenant, tenant_id)
    export.file_name = f"accountant-{tenant.slug}-{export.date_from}-{export.date_to}.zip"
    export.file_size, export.file_sha256 = size, digest.hexdigest()
    export.status, export.finished_at = ExportStatus.DONE, clock.now()
    export.done = export.total


def _member(name: str, day: date) -> zipfile.ZipInfo:
    # A fixed time per member: the same period exported twice gives the same bytes.
    info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _write_zip(part: IO[bytes], export_id: int, ids: list[int],
               progress: Progress | None) -> None:
    export = db.session.get(AccountantExport, export_id)
    date_from, date_to = export.date_from, export.date_to
    rows: list[tables.DocumentRow] = []
    missing: list[str] = []
    with zipfile.ZipFile(part, "w") as archive:
        for start in range(0, len(ids), BATCH):
            batch = ids[start:start + BATCH]
            for document in _load(batch):
                rows.append(_add_document(archive, document, missing))
                db.session.expunge(document)
            export = db.session.get(AccountantExport, export_id)
            export.done = start + len(batch)
            db.session.commit()  # progress, for the page that polls it
            if progress is not None:
                progress(len(batch), len(ids))
        with _text(archive, "documents.csv", date_to) as out:
            tables.write_documents_csv(out, rows)
        with _text(archive, "vat.csv", date_to) as out:
            tables.write_vat_csv(out, rows)
        archive.writestr(_member("journal.csv", date_to),
                         journal_csv(report_queries.journal_rows(date_from, date_to)))
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.kind] = counts.get(row.kind, 0) + 1
        tenant = db.session.get(Tenant, scoping.require_tenant_id())
        archive.writestr(_member("README.txt", date_to), tables.readme(
            tenant.display_name, date_from, date_to, counts, missing))


class _text:
    """A CSV member written as text straight into the ZIP (UTF-8, no newline mangling)."""

    def __init__(self, archive: zipfile.ZipFile, name: str, day: date) -> None:
        self.raw = archive.open(_member(name, day), "w")
        self.out = io.TextIOWrapper(self.raw, encoding="utf-8", newline="")

    def __enter__(self) -> io.TextIOWrapper:
        return self.out

    def __exit__(self, *exc: object) -> None:
        self.out.close()


def _load(batch: list[int]) -> Iterator[Document]:
    documents = db.session.scalars(
        select(Document).where(Document.id.in_(batch))
        .options(undefer(Document.pdf), selectinload(Document.lines),
                 selectinload(Document.source))).all()
    by_id = {document.id: document for document in documents}
    return (by_id[document_id] for document_id in batch if document_id in by_id)


def _add_document(archive: zipfile.ZipFile, document: Document,
                  missing: list[str]) -> tables.DocumentRow:
    kind, number = str(document.kind), document.number
    pdf_name = ""
    if document.pdf is not None:
        if hashlib.sha256(document.pdf).hexdigest() != document.pdf_sha256:
            raise ExportError(f"The stored PDF of {document.title} does not match its SHA-256:"
                              " it was changed after issue. Nothing was exported.")
        pdf_name = tables.pdf_member(kind, number)
        info = _member(pdf_name, document.issue_date)
        info.compress_type = zipfile.ZIP_STORED  # a PDF is compressed already
        archive.writestr(info, document.pdf)
    else:
        missing.append(number)
    ubl_name = ""
    if kind in ROOTS:
        ubl_name = tables.ubl_member(kind, number)
        archive.writestr(_member(ubl_name, document.issue_date), document_xml(document))
    totals = document_totals(document)
    buyer = document.buyer or {}
    return tables.DocumentRow(
        number=number, kind=kind, issue_date=document.issue_date,
        delivery_date=document.delivery_date, due_date=document.due_date,
        customer_number=buyer.get("customer_number"), customer=document.buyer_name,
        customer_vat_id=buyer.get("vat_id") or "", currency=document.currency,
        net=document.net_total, vat=document.vat_total, gross=document.gross_total,
        status=str(document.status), paid=document.paid_total or 0,
        exchange_rate=document.exchange_rate,
        source=document.source.number or "" if document.source is not None else "",
        pdf_name=pdf_name, pdf_sha256=document.pdf_sha256 or "" if pdf_name else "",
        ubl_name=ubl_name,
        vat_lines=tuple(tables.VatLine(code=row.code, category=row.category, rate=row.rate,
                                       net=row.net, vat=row.vat) for row in totals.rows))


def write_file(export: AccountantExport, out: IO[bytes]) -> None:
    """Write the stored ZIP to a file, a chunk at a time."""
    positions = db.session.scalars(
        select(ExportChunk.position).where(ExportChunk.export_id == export.id)
        .order_by(ExportChunk.position)).all()
    for position in positions:
        out.write(db.session.scalar(
            select(ExportChunk.data).where(ExportChunk.export_id == export.id,
                                           ExportChunk.position == position)))


def recent_exports(limit: int = 20) -> list[AccountantExport]:
    return list(db.session.scalars(
        select(AccountantExport).order_by(AccountantExport.created_at.desc(),
                                          AccountantExport.id.desc()).limit(limit)))
