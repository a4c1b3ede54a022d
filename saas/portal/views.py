"""The end customer's portal under /p/<tenant_slug>/, in the tenant's branding.

Customers will sign in by link and see their documents once documents exist (issue 8).
Here: the tenant's branded front page, and the branding assets (logo, colour stylesheet)
that the staff app shares, since a tenant's brand is public by nature.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, request

from saas.htmx import render
from saas.tenants import services
from saas.tenants.models import Branding

bp = Blueprint("portal", __name__, url_prefix="/p/<tenant_slug>")


@bp.route("/")
def home() -> Response:
    branding = services.branding_of_current_tenant()
    return render("portal/home.html", tenant=g.tenant, branding=branding)


@bp.route("/logo")
def logo() -> Response:
    branding = services.branding_of_current_tenant()
    if not branding.logo:
        abort(404)
    return _cached(Response(branding.logo, mimetype=branding.logo_mime), branding)


@bp.route("/brand.css")
def branding_css() -> Response:
    # A stylesheet rather than an inline style: the CSP allows no inline styles.
    branding = services.branding_of_current_tenant()
    css = f":root {{ --brand: {branding.primary_color}; }}\n"
    return _cached(Response(css, mimetype="text/css"), branding)


def _cached(response: Response, branding: Branding) -> Response:
    response.set_etag(f"{branding.logo_sha256 or ''}-{branding.primary_color}-"
                      f"{branding.updated_at.timestamp() if branding.updated_at else ''}")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response.make_conditional(request)
