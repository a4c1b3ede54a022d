"""Print runs across a bureau's clients (R8.1, R3.4): one merged PDF, client by client.

A run makes, inside each client the bureau operates (sorted by name), that client's own
post batch with billing's ``post.make_batch`` — the documents and reminders of its
customers who want paper, with address sheets whose return line is the client's — so the
client's Documents → Post shows it like any batch, in its audit log with the bureau's
staff member. The bureau keeps the run: a cover sheet listing the clients, then each
client's batch PDF, in one file. Marking the run printed marks each batch printed in its
client, as *Mark printed* there would.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select

from saas import clock
from saas.billing.documents import post
from saas.billing.documents.models import Delivery, PostBatch
from saas.billing.documents.pdf import FONT, FONT_BOLD, register_fonts
from saas.billing.documents.services import DocumentError
from saas.extensions import db
from saas.outsourced_service.clients import BureauError, ServedClient, acting_in
from saas.outsourced_service.models import BureauPostBatch
from saas.tenants import audit, scoping
from saas.tenants.models import Role, Tenant

# Who makes a client's post batch: as on its Documents → Post page.
POST_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.ACCOUNTANT, Role.STAFF})


def printable_clients(clients: list[ServedClient]) -> list[ServedClient]:
    """The clients whose post a member prints: operated ones where they may make batches."""
    return [served for served in clients if served.operated and served.role in POST_ROLES]


def pieces_waiting(clients: list[ServedClient]) -> dict[int, int]:
    """Per client, the documents and reminders waiting for a batch (one query each)."""
    waiting = {}
    for served in clients:
        with scoping.tenant_context(served.client.id):
            waiting[served.client.id] = db.session.scalar(select(
                select(func.count()).select_from(post.pending_documents_query().subquery())
                .scalar_subquery()
                + select(func.count()).select_from(post.pending_reminders_query().subquery())
                .scalar_subquery()))
    return waiting


def make_run(clients: list[ServedClient], user_id: int) -> BureauPostBatch:
    """A print run of everything waiting in the clients, sorted by client (in the bureau)."""
    parts, pdfs = [], []
    for served in sorted(printable_clients(clients), key=lambda s: s.client.name.lower()):
        with acting_in(served.client):
            try:
                batch = post.make_batch(user_id=user_id)
            except DocumentError:
                continue  # nothing waits in this client
            pieces = db.session.scalar(select(func.count(Delivery.id)).where(
                Delivery.post_batch_id == batch.id))
        parts.append({"client_tenant_id": served.client.id, "client": served.client.name,
                      "post_batch_id": batch.id, "pieces": pieces})
        pdfs.append(batch.pdf)
    if not parts:
        raise BureauError("Nothing to print: no client has a document or reminder waiting for"
                          " the post.")
    run = BureauPostBatch(parts=parts, pieces=sum(part["pieces"] for part in parts),
                          created_by_id=user_id)
    db.session.add(run)
    db.session.flush()
    run.pdf = post.concatenate([_cover(run), *pdfs])
    audit.record("bureau.post_run", run,
                 f"Print run {run.id}: {run.pieces} letters of {len(parts)} clients",
                 {"parts": parts}, user_id=user_id)
    return run


def mark_printed(run: BureauPostBatch, bureau: Tenant, user_id: int) -> None:
    """The run went to the printer: each client's batch counts as sent by post."""
    if run.printed_at is not None:
        raise BureauError(f"Print run {run.id} was marked printed already.")
    for part in run.parts:
        client = db.session.get(Tenant, part["client_tenant_id"])
        if client is None or client.bureau_id != bureau.id:
            continue  # no longer served: the client marks its batch itself
        with acting_in(client):
            batch = db.session.get(PostBatch, part["post_batch_id"])
            if batch is not None and batch.printed_at is None:
                post.mark_printed(batch, user_id=user_id)
    run.printed_at = clock.now()
    audit.record("bureau.post_run_printed", run, f"Print run {run.id} printed",
                 user_id=user_id)


def _cover(run: BureauPostBatch) -> bytes:
    """The first page: the run's clients in print order, with their letters."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    _, height = A4
    canvas.setFont(FONT_BOLD, 14)
    canvas.drawString(20 * mm, height - 20 * mm,
                      f"Print run {run.id}: {run.pieces} letters of {len(run.parts)} clients")
    canvas.setFont(FONT, 10)
    y = height - 32 * mm
    for position, part in enumerate(run.parts, start=1):
        if y < 20 * mm:
            canvas.showPage()
            canvas.setFont(FONT, 10)
            y = height - 20 * mm
        canvas.drawString(20 * mm, y, f"{position}. {part['client']}")
        canvas.drawString(130 * mm, y, f"{part['pieces']} letters, batch {part['post_batch_id']}")
        y -= 6 * mm
    canvas.showPage()
    canvas.save()
    return out.getvalue()
