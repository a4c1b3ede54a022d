"""The run command's demo data shows the sales chain working."""

from __future__ import annotations

from sqlalchemy import select

from saas import demo
from saas.billing.documents.chain import verify_series
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant


def test_demo_seed_shows_every_document_kind_with_a_sound_chain(db_session):
    demo.seed()
    demo.seed()  # running it again adds nothing
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == demo.NORDLYS.slug))
    with scoping.tenant_context(tenant.id):
        documents = db.session.scalars(select(Document)).all()
        kinds = {document.kind for document in documents}
        states = {(document.kind, document.status) for document in documents}
        assert kinds == set(DocumentKind)
        assert {(DocumentKind.QUOTE, DocumentStatus.CONVERTED),
                (DocumentKind.ORDER, DocumentStatus.PARTLY_INVOICED),
                (DocumentKind.INVOICE, DocumentStatus.DRAFT)} <= states
        assert len(documents) == 8
        for kind in DocumentKind:
            issued = sorted((d for d in documents if d.kind == kind and d.number),
                            key=lambda d: d.chain_position)
            assert verify_series(kind.value, issued) == []
