"""The accountant export's page (R7.3): ask for a period, watch it being built, download."""

from __future__ import annotations

import tempfile

from flask import request, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from saas.billing.exports import services
from saas.billing.exports.forms import ExportForm
from saas.billing.exports.models import AccountantExport, ExportStatus
from saas.billing.exports.periods import last_month
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import MANAGERS, get_or_404, requires, staff_blueprint, tenant_today
from saas.tenants.models import Role

bp = staff_blueprint("exports", __name__, "/exports")

# The books are the accountant's: who may read the journal may export it.
BOOKKEEPERS = MANAGERS | {Role.ACCOUNTANT}


@bp.route("", methods=["GET", "POST"])
@requires(BOOKKEEPERS)
def index() -> Response:
    """The period form (last month by default) and the exports asked for so far."""
    form = ExportForm()
    if request.method == "GET":
        form.date_from.data, form.date_to.data = last_month(tenant_today())
    if form.validate_on_submit():
        try:
            export = services.request_export(form.date_from.data, form.date_to.data,
                                             user_id=current_user.id)
        except services.ExportError as exc:
            db.session.rollback()
            form.date_to.errors = [str(exc)]
        else:
            db.session.commit()
            return redirect_to(url_for("exports.show", export_id=export.id))
    return render("exports/index.html", form=form, exports=services.recent_exports(),
                  status=422 if form.errors else 200)


@bp.route("/<int:export_id>")
@requires(BOOKKEEPERS)
def show(export_id: int) -> Response:
    """An export's progress; the fragment polls itself until the export is over."""
    export = get_or_404(AccountantExport, export_id)
    return render("exports/show.html", export=export,
                  block="progress" if request.headers.get("HX-Request") else None)


@bp.route("/<int:export_id>/download")
@requires(BOOKKEEPERS)
def download(export_id: int) -> Response:
    """The stored ZIP, once it is done."""
    export = get_or_404(AccountantExport, export_id)
    if export.status != ExportStatus.DONE:
        return render("exports/show.html", export=export, status=409)
    # Spooled to disk, not memory: a big period's ZIP is read a chunk at a time.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    services.write_file(export, spool)
    spool.seek(0)
    response = send_file(spool, mimetype="application/zip", as_attachment=True,
                         download_name=export.file_name, max_age=0)
    response.headers["ETag"] = export.file_sha256
    return response
