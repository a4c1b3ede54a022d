"""`flask documents verify`: recompute the hash chain of every number series (R3.5).

For each tenant (entered in turn: row-level security shows a tenant's documents only
inside its context) and each kind of document, the issued documents are streamed in
chain order with their lines and stored PDF, and ``chain.verify_series`` checks hashes,
links, PDFs and number gaps. The series head (how many documents the series says it
issued, and the last hash) is compared with the end of the chain as well: the chain
alone cannot tell that its last documents were deleted.

Prints one line per break and a summary; exits 1 when anything is broken, 0 otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer

from saas.billing.documents import chain
from saas.billing.documents.models import Document, NumberSeries
from saas.billing.documents.states import DocumentKind
from saas.cli_args import tenants_of
from saas.extensions import db
from saas.tenants import scoping

documents = AppGroup("documents", help="Sales documents.")

# Documents loaded per round trip: memory stays bounded however long a series is.
BATCH = 500


@dataclass
class Report:
    documents: int = 0
    series: int = 0
    breaks: int = 0
    held: list[str] = field(default_factory=list)  # break lines not printed yet


@documents.command("verify")
@click.option("--tenant", "slug", metavar="SLUG", default=None,
              help="Check only this tenant (default: every tenant).")
def verify_command(slug: str | None) -> None:
    """Recompute the hash chain of every number series; exit 1 if anything is broken."""
    tenants = tenants_of(slug)

    report = Report()
    if sys.stdout.isatty():
        # Break lines would tear the bar apart: they are printed once it is done.
        with click.progressbar(tenants, label="Verifying tenants",
                               item_show_func=lambda t: t.slug if t else None) as bar:
            for tenant_id, tenant_slug in bar:
                verify_tenant(tenant_id, tenant_slug, report, echo=report.held.append)
        for line in report.held:
            click.echo(line)
    else:
        for tenant_id, tenant_slug in tenants:
            verify_tenant(tenant_id, tenant_slug, report, echo=click.echo)

    found = report.breaks
    outcome = "no breaks." if not found else f"{found:,} break{'s' if found != 1 else ''}."
    click.echo(f"Checked {report.documents:,} document{'s' if report.documents != 1 else ''}"
               f" in {report.series:,} series: {outcome}")
    if found:
        click.get_current_context().exit(1)


def verify_tenant(tenant_id: int, slug: str, report: Report,
                  echo: Callable[[str], object]) -> None:
    """Check every series of one tenant: count into the report, echo each break."""
    with scoping.tenant_context(tenant_id):
        for kind in DocumentKind:
            checked, breaks = verify_kind(kind)
            if checked or breaks:
                report.series += 1
            report.documents += checked
            report.breaks += len(breaks)
            for found in breaks:
                echo(f"{slug} {found.kind} {found.number or '(series head)'}: {found.problem}")


def verify_kind(kind: DocumentKind) -> tuple[int, list[chain.ChainBreak]]:
    """Check the current tenant's series of one kind: (documents checked, breaks)."""
    head = _head(kind)
    seen = _Tail()
    breaks = chain.verify_series(str(kind), seen.track(_issued(kind)))
    breaks.extend(_head_breaks(kind, head, seen))
    return seen.count, breaks


def _issued(kind: DocumentKind) -> Iterator[Document]:
    """The issued documents of the kind in chain order, streamed in batches.

    One statement (a server-side cursor), so the chain is read from one snapshot; lines
    are loaded per batch, the deferred PDF with each document.
    """
    statement = (
        select(Document)
        .where(Document.kind == kind, Document.number.is_not(None))
        .order_by(Document.chain_position, Document.id)
        .options(undefer(Document.pdf), selectinload(Document.lines))
        .execution_options(yield_per=BATCH)
    )
    yield from db.session.scalars(statement)


def _head(kind: DocumentKind) -> tuple[int, str] | None:
    """How many documents the series says it issued, and its last hash (read now)."""
    row = db.session.execute(
        select(NumberSeries.issued_count, NumberSeries.last_hash)
        .where(NumberSeries.kind == kind)
    ).first()
    return None if row is None else (row.issued_count, row.last_hash or chain.GENESIS)


class _Tail:
    """Counts the documents passing through and remembers the last one's place and hash."""

    def __init__(self) -> None:
        self.count = 0
        self.position = 0
        self.hash = chain.GENESIS
        self.number: str | None = None

    def track(self, documents: Iterator[Document]) -> Iterator[Document]:
        for document in documents:
            self.count += 1
            self.position = document.chain_position or self.position
            self.hash = document.chain_hash or ""
            self.number = document.number
            yield document


def _head_breaks(kind: DocumentKind, head: tuple[int, str] | None,
                 tail: _Tail) -> list[chain.ChainBreak]:
    """Compare the chain's end with the series head.

    The head was read before the documents, so every document it counts is among them:
    a chain ending before the head means its last documents are gone. A chain ending
    after it may be a document issued meanwhile: the head is read again to tell.
    """
    if tail.position > (head or (0, ""))[0]:
        head = _head(kind)
        if head is not None and head[0] > tail.position:  # issued again since: fine
            return []
    if head is None:
        if not tail.count:
            return []
        return [chain.ChainBreak(str(kind), tail.number,
                                 "the series these documents were issued in is missing")]
    issued, last_hash = head
    if tail.position < issued:
        return [chain.ChainBreak(str(kind), tail.number, (
            f"the series says {issued} were issued but its chain ends at"
            f" {tail.position}: the last documents are missing"))]
    if tail.position > issued:
        return [chain.ChainBreak(str(kind), tail.number, (
            f"the chain goes on to {tail.position} but the series says {issued} were"
            " issued: documents were added outside the series"))]
    if tail.hash != last_hash:
        return [chain.ChainBreak(str(kind), tail.number,
                                 "the series' last hash is not this document's hash")]
    return []
