"""`flask payments post-missing`: post documents issued before the journal existed.

Invoices and credit notes issued before migration 0014 have no journal entry, so the
books (the statement, the trial balance, the accountant's export) would miss them. This
posts each one on its issue date, once: a document with an entry is left alone, so the
command can run again. Invoices marked paid by hand before payments existed have no
payment to settle them; they are listed, for their payments to be recorded.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.payments import ledger
from saas.billing.payments.models import JournalEntry
from saas.cli_args import tenants_of
from saas.extensions import db
from saas.tenants import scoping

payments = AppGroup("payments", help="Payments and the journal.")


def post_missing(tenant_id: int) -> tuple[int, list[str]]:
    """In one tenant: post the issued documents without an entry; how many, and the
    invoices paid by hand (numbers) that no payment settles."""
    with scoping.tenant_context(tenant_id):
        posted = select(JournalEntry.id).where(JournalEntry.document_id == Document.id,
                                               JournalEntry.reverses_id.is_(None))
        missing = db.session.scalars(
            select(Document).where(Document.kind.in_([K.INVOICE, K.CREDIT_NOTE]),
                                   Document.number.is_not(None), ~posted.exists())
            .order_by(Document.issue_date, Document.id)).all()
        for document in missing:
            ledger.post_document(document)
        unsettled = db.session.scalars(
            select(Document.number).where(Document.kind == K.INVOICE,
                                          Document.status == S.PAID,
                                          Document.paid_total < Document.gross_total)
            .order_by(Document.number)).all()
        db.session.commit()
        return len(missing), list(unsettled)


@payments.command("post-missing")
@click.option("--tenant", "slug", metavar="SLUG", default=None,
              help="Only this tenant (default: every tenant).")
def post_missing_command(slug: str | None) -> None:
    """Post issued invoices and credit notes that have no journal entry yet."""
    tenants = tenants_of(slug)
    total = 0
    for tenant_id, tenant_slug in tenants:
        count, unsettled = post_missing(tenant_id)
        total += count
        if count:
            click.echo(f"{tenant_slug}: {count} document{'s' if count != 1 else ''} posted.")
        if unsettled:
            click.echo(f"{tenant_slug}: paid by hand, with no payment recorded:"
                       f" {', '.join(unsettled)}")
    click.echo(f"{total} document{'s' if total != 1 else ''} posted in all.")
