"""The payment reference settings (R6.2): the scheme and the KID length, for managers."""

from __future__ import annotations

from flask import flash, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.documents import issuing
from saas.billing.documents.forms import ReferenceSchemeForm
from saas.billing.documents.models import NumberSeries
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind
from saas.billing.documents.views import bp
from saas.billing.documents.views.common import refuse
from saas.billing.payments import references
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import MANAGERS, current_tenant, requires


def _sample(scheme: str, length: int) -> tuple[str, str]:
    """(what the next invoice gets, for whom), or ("", the reason it would be refused)."""
    position = 1 + (db.session.scalar(select(NumberSeries.issued_count).where(
        NumberSeries.kind == DocumentKind.INVOICE)) or 0)
    customer = db.session.scalar(select(func.min(Customer.number))) or 10001
    try:
        made = references.make_reference(scheme, customer_number=customer, counter=position,
                                         number="(its number)", length=length)
    except ValueError as exc:
        return "", str(exc)
    return references.display_reference(made), f"customer {customer}, invoice no. {position}"


@bp.route("/payment-references", methods=["GET", "POST"])
@requires(MANAGERS)
def payment_references() -> Response:
    """How the payment references of future invoices and proformas are made."""
    tenant = current_tenant()
    form = ReferenceSchemeForm(obj=tenant)
    if form.validate_on_submit():
        try:
            issuing.update_reference_scheme(form.reference_scheme.data,
                                            form.reference_length.data)
        except DocumentError as exc:
            refuse(form, exc)
        else:
            db.session.commit()
            flash("Payment references saved: invoices issued from now on get them this way;"
                  " issued ones keep theirs.", "success")
            return redirect_to(url_for("documents.payment_references"))
    # What the saved settings make (a refused change saved nothing).
    scheme, length = tenant.reference_scheme, tenant.reference_length
    sample, sample_note = _sample(scheme, length)
    capacity = None
    if scheme in references.KID_SCHEMES:
        capacity = references.kid_capacity(length)
    return render("documents/payment_references.html", form=form,
                  scheme_name=issuing.scheme_name(scheme, length), sample=sample,
                  sample_note=sample_note, capacity=capacity,
                  status=422 if form.errors else 200)
