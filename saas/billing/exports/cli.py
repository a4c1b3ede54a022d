"""`flask exports accountant ...`: a period's ZIP for the accountant, with a progress bar;
`flask exports ubl ...`: one invoice or credit note as a UBL e-invoice."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from saas.billing.documents.models import Document
from saas.billing.einvoice import ubl
from saas.billing.exports import services
from saas.billing.exports.models import ExportStatus
from saas.cli_args import tenants_of
from saas.extensions import db
from saas.tenants import scoping

exports = AppGroup("exports", help="Exports for the accountant and e-invoices.")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-10-31.",
                                 param_hint=option) from None


@exports.command("accountant")
@click.option("--tenant", "slug", metavar="SLUG", required=True, help="The company.")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", required=True,
              help="The period's first day.")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", required=True,
              help="The period's last day.")
@click.option("--out", "output", type=click.Path(dir_okay=False), default=None,
              help="Where to write the ZIP (default: the export's own file name).")
def accountant_command(slug: str, date_from: str, date_to: str, output: str | None) -> None:
    """Build the period's export (PDFs, e-invoices, CSVs) and write its ZIP."""
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    [(tenant_id, _)] = tenants_of(slug)
    with scoping.tenant_context(tenant_id):
        try:
            export = services.request_export(start, end, queued=False)
        except services.ExportError as exc:
            raise click.BadParameter(str(exc), param_hint="--from/--to") from None
        export_id = export.id
        db.session.commit()
        with click.progressbar(length=1, label=f"Export {export_id}") as bar:
            def advance(documents: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(documents)

            export = services.build(export_id, progress=advance)
        if export.status != ExportStatus.DONE:
            click.echo(f"Export {export_id} failed: {export.error}", err=True)
            raise SystemExit(1)
        path = Path(output or export.file_name)
        # Written beside under another name and renamed: never half a file at the path.
        part = path.with_name(path.name + ".part")
        with part.open("wb") as out:
            services.write_file(export, out)
        os.replace(part, path)
        click.echo(f"Wrote {path}: {export.total} documents, {export.file_size} bytes,"
                   f" SHA-256 {export.file_sha256}.")


@exports.command("ubl")
@click.option("--tenant", "slug", metavar="SLUG", required=True, help="The company.")
@click.option("--out", "output", type=click.Path(dir_okay=False), default=None,
              help="Where to write the XML (default: NUMBER.xml).")
@click.argument("number")
def ubl_command(slug: str, number: str, output: str | None) -> None:
    """Write an issued invoice or credit note as a UBL 2.1 e-invoice (Peppol BIS 3.0)."""
    [(tenant_id, _)] = tenants_of(slug)
    with scoping.tenant_context(tenant_id):
        documents = db.session.scalars(select(Document).where(Document.number == number)).all()
        document = next((d for d in documents if str(d.kind) in ubl.ROOTS), None)
        if document is None:
            raise click.BadParameter(f"No invoice or credit note is numbered {number!r}.",
                                     param_hint="NUMBER")
        try:
            data = ubl.document_xml(document)
        except ubl.EInvoiceError as exc:
            raise click.ClickException(str(exc)) from None
        for warning in ubl.document_warnings(document):
            click.echo(f"Warning: {warning}", err=True)
        path = Path(output or ubl.filename(document))
        path.write_bytes(data)
        click.echo(f"Wrote {path}.")
