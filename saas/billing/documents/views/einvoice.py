"""An issued invoice or credit note as a UBL 2.1 e-invoice (Peppol BIS Billing 3.0)."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import flash, url_for
from werkzeug.wrappers import Response

from saas.billing.documents.views import bp
from saas.billing.documents.views.common import load
from saas.billing.einvoice import ubl
from saas.htmx import redirect_to
from saas.tenants.access import ALL_ROLES, requires

# The document page lists what the e-invoice lacks for Peppol (it is exported anyway).
bp.add_app_template_global(ubl.document_warnings, "einvoice_warnings")


@bp.route("/<int:document_id>/ubl")
@requires(ALL_ROLES)
def ubl_xml(document_id: int) -> Response:
    """The e-invoice's XML; a draft or a document of another kind is refused."""
    document = load(document_id)
    try:
        data = ubl.document_xml(document)
    except ubl.EInvoiceError as exc:
        flash(str(exc), "error")
        return redirect_to(url_for("documents.show", document_id=document.id))
    response = FlaskResponse(data, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{ubl.filename(document)}"'
    return response
