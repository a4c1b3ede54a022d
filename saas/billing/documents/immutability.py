"""Issued documents are immutable (R3.8, R3.9): the ORM wall here, the database's below.

The ORM refuses, at flush, any change to an issued document's content, the deletion of an
issued document, and any new, changed or deleted line of one. What may still change on
an issued document is its state (accepted, paid, credited ...) and, once, its stored PDF.
On PostgreSQL the triggers created by migration 0004 refuse the same through raw SQL.
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from saas.billing.documents.models import Document, DocumentLine

# Columns of an issued document that may still change: its state and what is paid of it,
# and the PDF (from empty).
MUTABLE = frozenset({"status", "paid_total"})
SET_ONCE = frozenset({"pdf", "pdf_sha256"})


class ImmutableDocument(RuntimeError):
    """Something tried to change an issued document; corrections are credit notes."""


def _was_issued(document: Document) -> bool:
    history = inspect(document).attrs.number.history
    before = history.deleted[0] if history.deleted else (
        history.unchanged[0] if history.unchanged else None)
    return before is not None


def _check_document(document: Document) -> None:
    if not _was_issued(document):
        return
    state = inspect(document)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes() or attr.key in MUTABLE:
            continue
        if attr.key in SET_ONCE and not any(v is not None for v in history.deleted):
            continue
        raise ImmutableDocument(
            f"{document.kind.label} {document.number} is issued: {attr.key} cannot change."
        )


def _document_of(session: Session, line: DocumentLine) -> Document | None:
    if line.document is not None:
        return line.document
    history = inspect(line).attrs.document_id.history
    document_id = (history.deleted or history.unchanged or [None])[0]
    return session.get(Document, document_id) if document_id else None


def _check_line(session: Session, line: DocumentLine, action: str) -> None:
    document = _document_of(session, line)
    if document is None or not inspect(document).persistent:
        return
    if _was_issued(document):
        raise ImmutableDocument(
            f"{document.kind.label} {document.number} is issued: its lines cannot be {action}."
        )


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_issued(session: Session, flush_context: object, instances: object) -> None:
    for obj in session.dirty:
        if isinstance(obj, Document) and session.is_modified(obj, include_collections=False):
            _check_document(obj)
        elif isinstance(obj, DocumentLine) and session.is_modified(obj):
            _check_line(session, obj, "changed")
    for obj in session.new:
        if isinstance(obj, DocumentLine):
            _check_line(session, obj, "added")
    for obj in session.deleted:
        if isinstance(obj, Document) and _was_issued(obj):
            raise ImmutableDocument(
                f"{obj.kind.label} {obj.number} is issued and cannot be deleted.")
        if isinstance(obj, DocumentLine):
            _check_line(session, obj, "removed")
