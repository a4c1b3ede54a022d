"""What staff do about the portal from the app: withdraw a document's e-mailed links.

The document page shows the portal panel (``templates/portal/_staff_panel.html``) through
``portal_panel``, a template helper registered here, so billing's pages need not import
the portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Flask, flash, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from saas.billing.documents.delivery import DOCUMENT_LINK
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.documents.views.common import EDITORS, load, require_issuer
from saas.extensions import db
from saas.htmx import redirect_to
from saas.portal import links, stripe_connections
from saas.portal.models import QuoteResponse
from saas.portal.quotes import quote_response_of
from saas.portal.stripe_connections import StripeAccount
from saas.tenants.access import requires, staff_blueprint

bp = staff_blueprint("portal_staff", __name__, "/portal")


@bp.route("/documents/<int:document_id>/revoke-links", methods=["POST"])
@requires(EDITORS)
def revoke_links(document_id: int) -> Response:
    """Withdraw every link that opens the document in the portal (a mis-sent e-mail)."""
    document = load(document_id)
    require_issuer(document)
    count = links.revoke_document_links(document, user_id=current_user.id)
    db.session.commit()
    flash(
        f"{count} portal link{'s' if count != 1 else ''} revoked: the e-mailed links no"
        " longer open it."
        if count
        else "No portal link was open.",
        "success",
    )
    return redirect_to(url_for("documents.show", document_id=document.id))


@dataclass(frozen=True)
class PortalPanel:
    live_links: int
    first_opened: datetime | None
    response: QuoteResponse | None
    payment_account: StripeAccount | None = None  # invoices: where card payments go


ACCOUNT_WORDS = {
    "own_keys": "your own Stripe account",
    "connect": "your Stripe Connect account",
    "platform": "the platform's Stripe account",
    "demo": "the demo checkout",
}


def _payment_account() -> StripeAccount | None:
    try:
        return stripe_connections.account_of_current_tenant()
    except stripe_connections.KeysUnreadable:
        return None


def portal_panel(document: Document) -> PortalPanel:
    """What the document page shows about the portal: its links, when it was first opened
    online, a quote's answer."""
    response = quote_response_of(document) if document.kind == DocumentKind.QUOTE else None
    payable = document.kind == DocumentKind.INVOICE and document.number is not None
    return PortalPanel(
        live_links=links.live_document_links(document),
        first_opened=links.first_opened(document),
        response=response,
        payment_account=_payment_account() if payable else None,
    )


def init_app(app: Flask) -> None:
    """Let document e-mails carry portal links, and the document page show the panel."""
    app.extensions[DOCUMENT_LINK] = links.document_url
    app.add_template_global(portal_panel, "portal_panel")
    app.add_template_global(ACCOUNT_WORDS, "stripe_account_words")
