"""The demo bureau serves three clients: its people see their queues, its fees are billed."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas import demo
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.work.models import BillableItem
from saas.extensions import db
from saas.outsourced_service.models import BureauActivity, BureauClient
from saas.tenants import scoping
from saas.tenants.models import BureauMode, Membership, Tenant, User


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_the_demo_bureau_serves_three_clients_with_work_and_fees(make_client, db_session):
    bureau = db.session.scalar(select(Tenant).where(Tenant.slug == demo.BUREAU.slug))
    served = db.session.scalars(select(Tenant).where(Tenant.bureau_id == bureau.id)
                                .order_by(Tenant.slug)).all()
    assert [(t.slug, t.bureau_mode) for t in served] == [
        ("klos", BureauMode.SELF_SERVICE), ("sokol", BureauMode.OPERATED),
        ("vltava", BureauMode.OPERATED)]
    with scoping.tenant_context(bureau.id):
        assert len(db.session.scalars(select(BureauClient)).all()) == 3
        months = {a.period_start for a in db.session.scalars(select(BureauActivity))}
        fee_invoices = db.session.scalars(select(Document).where(
            Document.kind == DocumentKind.INVOICE, Document.status == DocumentStatus.DRAFT,
            Document.id.in_(select(DocumentLine.document_id).join(
                BillableItem, BillableItem.document_line_id == DocumentLine.id)))).all()
    assert len(months) == 2  # last month, recorded and invoiced, and this month so far
    assert len(fee_invoices) == 3
    for client in served:  # the bureau's people are no members of the clients
        with scoping.tenant_context(client.id):
            emails = db.session.scalars(select(User.email).join(
                Membership, Membership.user_id == User.id)).all()
        assert emails == [f"owner@{client.slug}.example"]

    staff = make_client(_user("staff@biuro.example"))
    assert staff.get("/").location.endswith(f"/t/{bureau.slug}/bureau/")
    queue = staff.get(f"/t/{bureau.slug}/bureau/").text
    assert 'id="queue-sokol"' in queue and 'id="queue-vltava"' in queue
    assert 'id="queue-klos"' not in queue
    sokol = queue[queue.index('id="queue-sokol"'):queue.index('id="queue-vltava"')]
    assert re.search(r"\d+ invoices?</a>", sokol)  # the demo's drafts wait to be issued
    page = staff.get("/t/sokol/").text
    assert 'id="acting-banner"' in page and "Ochrona Sokół" in page
    assert staff.get("/t/klos/").status_code == 404
