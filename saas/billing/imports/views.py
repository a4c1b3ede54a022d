"""Import pages (upload → preview → confirm) and CSV exports of customers and products.

Between the preview and the confirm step the file travels with the page, not in a server
session: the preview's forms carry it in a hidden field, compressed and signed with the
app's secret key (bound to the tenant), and the confirm step checks it all again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import PurePath
from zoneinfo import ZoneInfo

from flask import current_app, flash, request, stream_with_context, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from saas.billing.imports import formats, services
from saas.billing.imports.formats import Kind, ParsedFile
from saas.billing.imports.models import ImportRun
from saas.errors import error_response
from saas.extensions import db
from saas.forms import LANGUAGES
from saas.htmx import redirect_to, render, wants_fragment
from saas.queue import enqueue
from saas.tenants.access import (
    MANAGERS,
    current_tenant,
    get_or_404,
    requires,
    staff_blueprint,
)
from saas.tenants.models import Role
from saas.tenants.services import ServiceError

bp = staff_blueprint("imports", __name__)

IMPORTERS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
EXPORTERS = MANAGERS | {Role.ACCOUNTANT}
PAYLOAD_SALT = "import-payload"


@bp.route("/imports")
@requires(IMPORTERS)
def index() -> Response:
    return _upload_page()


def _upload_page(problem: str = "", kind: Kind = Kind.CUSTOMERS, status: int = 200) -> Response:
    return render("imports/index.html", status=status, kinds=list(Kind), selected=kind,
                  problem=problem, columns=formats.COLUMNS, required=formats.REQUIRED_COLUMNS,
                  languages=list(LANGUAGES), max_rows=formats.MAX_ROWS,
                  max_megabytes=formats.MAX_BYTES // (1024 * 1024))


@bp.route("/imports/preview", methods=["POST"])
@requires(IMPORTERS)
def preview() -> Response:
    """Check an uploaded file and show what would be imported, or every error."""
    kind = _kind(request.form.get("kind", ""))
    upload = request.files.get("file")
    if kind is None:
        return _upload_page("Choose what the file holds: customers or products.", status=422)
    if upload is None or not upload.filename:
        return _upload_page("Choose a CSV file to upload.", kind, status=422)
    filename = _clean_filename(upload.filename)
    parsed = services.read_file(kind, upload.stream.read(formats.MAX_BYTES + 1))
    return _preview_page(parsed, filename)


def _preview_page(parsed: ParsedFile, filename: str) -> Response:
    payload = _seal(parsed.kind, filename, parsed.text) if not parsed.problem else ""
    return render("imports/preview.html", status=200 if parsed.ok else 422, parsed=parsed,
                  filename=filename, payload=payload, preview_columns=formats.PREVIEW_COLUMNS)


@bp.route("/imports/confirm", methods=["POST"])
@requires(IMPORTERS)
def confirm() -> Response:
    """Import the previewed file: every row in one transaction, or none."""
    sealed = _unseal(request.form.get("payload", ""))
    if sealed is None:
        return _tampered()
    kind, filename, text = sealed
    # Checked again: numbers, site codes or SKUs may have been taken since the preview.
    parsed = services.read_text(kind, text)
    if not parsed.ok:
        return _preview_page(parsed, filename)
    if len(parsed.records) > current_app.config["IMPORT_INLINE_ROWS"]:
        # A large file: a background job imports it; the run's page shows its progress.
        run = services.start_import_run(kind, filename, len(parsed.records), current_user.id)
        enqueue(services.run_import, run.id, text, tenant_id=current_tenant().id,
                job_id=f"import-run-{run.id}")
        db.session.commit()
        return redirect_to(url_for("imports.run", import_run_id=run.id))
    try:
        count = services.import_file(parsed, filename)
        db.session.commit()
    except (ServiceError, IntegrityError) as exc:
        db.session.rollback()
        message = str(exc) if isinstance(exc, ServiceError) else "A row clashed with saved data."
        flash(f"Nothing was imported. {message}", "error")
        return redirect_to(url_for("imports.index"))
    noun = kind.value if count != 1 else kind.value.removesuffix("s")
    flash(f"Imported {count} {noun} from {filename}.", "success")
    if kind is Kind.CUSTOMERS:
        return redirect_to(url_for("customers.index"))
    return redirect_to(url_for("imports.index"))


@bp.route("/imports/runs/<int:import_run_id>")
@requires(IMPORTERS)
def run(import_run_id: int) -> Response:
    """A background import's progress; the fragment polls itself until the run ends."""
    import_run = get_or_404(ImportRun, import_run_id)
    return render("imports/run.html", block="run_status" if wants_fragment() else None,
                  run=import_run)


@bp.route("/imports/errors.csv", methods=["POST"])
@requires(IMPORTERS)
def error_report() -> Response:
    """Send the previewed file's row errors as CSV: line, column, value, message."""
    sealed = _unseal(request.form.get("payload", ""))
    if sealed is None:
        return _tampered()
    kind, _, text = sealed
    parsed = services.read_text(kind, text)
    return _csv_download(formats.error_report(parsed.errors), f"{kind.value}-import-errors")


@bp.route("/exports/customers.csv")
@requires(EXPORTERS)
def export_customers() -> Response:
    return _csv_download(services.export_customers(), "customers")


@bp.route("/exports/products.csv")
@requires(EXPORTERS)
def export_products() -> Response:
    return _csv_download(services.export_products(), "products")


# --- helpers -------------------------------------------------------------------------------


def _kind(value: str) -> Kind | None:
    try:
        return Kind(value)
    except ValueError:
        return None


def _clean_filename(name: str) -> str:
    # Browsers send a bare name, but some send a whole path; it is shown and audited.
    return PurePath(name.replace("\\", "/")).name[:100] or "upload.csv"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=PAYLOAD_SALT)


def _seal(kind: Kind, filename: str, text: str) -> str:
    return _serializer().dumps(
        {"tenant": current_tenant().id, "kind": kind.value, "filename": filename, "text": text}
    )


def _unseal(payload: str) -> tuple[Kind, str, str] | None:
    """Return the file a preview page carried; None when changed or another tenant's."""
    try:
        data = _serializer().loads(payload)
        if data["tenant"] != current_tenant().id:
            return None
        return Kind(data["kind"]), str(data["filename"]), str(data["text"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def _tampered() -> Response:
    return error_response(400, "Upload the file again",
                          "The import form was changed or belongs to another company. "
                          "Nothing was imported.")


def _csv_download(lines: Iterator[str], name: str) -> Response:
    tenant = current_tenant()
    today = datetime.now(ZoneInfo(tenant.timezone)).date().isoformat()
    response = Response(stream_with_context(lines), mimetype="text/csv")
    filename = f"{name}-{tenant.slug}-{today}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
