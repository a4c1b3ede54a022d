"""Who is looking at the portal: a signed-in contact, or someone who opened document links.

The Flask session (a signed cookie) keeps, per tenant, the contact signed in and since
when, and the document links opened. Every request checks them again against the database:
a contact that lost portal access, or a link staff revoked, stops working at once. A
signed-in contact sees its own customer's documents; a document link opens its document
only, which keeps a forwarded e-mail from opening the customer's whole account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import abort, current_app, g, request, session
from sqlalchemy import select

from saas import clock
from saas.billing.customers.models import Contact
from saas.billing.documents.i18n import LOCALES, language_of
from saas.billing.documents.models import Document
from saas.extensions import db
from saas.portal.links import LinkRefused, check_live, may_use_portal
from saas.portal.models import LinkPurpose, PortalLink

SESSION_KEY = "portal"
# Document links remembered per tenant: the most recently opened ones.
MAX_LINKS = 20
PUBLIC_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class Visitor:
    contact: Contact | None = None
    links: list[PortalLink] = field(default_factory=list)

    @property
    def is_known(self) -> bool:
        return self.contact is not None or bool(self.links)

    def link_for(self, document: Document) -> PortalLink | None:
        return next((link for link in self.links if link.document_id == document.id), None)


def _state() -> dict:
    return dict(session.get(SESSION_KEY, {}).get(str(g.tenant.id), {}))


def _save(state: dict) -> None:
    portal = dict(session.get(SESSION_KEY, {}))
    if state:
        portal[str(g.tenant.id)] = state
    else:
        portal.pop(str(g.tenant.id), None)
    session[SESSION_KEY] = portal


def sign_in(contact: Contact) -> None:
    """Start a portal session for the contact in the current tenant."""
    state = _state()
    state.update(contact=contact.id, at=clock.now().timestamp())
    _save(state)


def sign_out() -> None:
    """End the portal session in the current tenant, document links included."""
    _save({})


def remember_link(link: PortalLink) -> None:
    """Let this browser open the link's document from now on (while the link lives)."""
    state = _state()
    state["links"] = [link.id, *[i for i in state.get("links", []) if i != link.id]][:MAX_LINKS]
    _save(state)


def load_visitor() -> Visitor:
    """The current tenant's portal visitor, checked against the database."""
    state = _state()
    if not state:
        return Visitor()
    visitor = Visitor()
    contact_id = state.get("contact")
    if contact_id is not None:
        age = clock.now().timestamp() - float(state.get("at", 0))
        contact = db.session.get(Contact, contact_id)
        # get() may answer from the identity map, which the tenant filter does not see.
        if contact is not None and contact.tenant_id != g.tenant.id:
            contact = None
        if age < current_app.config["PORTAL_SESSION_HOURS"] * 3600 and may_use_portal(contact):
            visitor.contact = contact
    link_ids = [i for i in state.get("links", []) if isinstance(i, int)]
    if link_ids:
        found = db.session.scalars(select(PortalLink).where(
            PortalLink.id.in_(link_ids), PortalLink.purpose == LinkPurpose.DOCUMENT)).all()
        visitor.links = sorted((link for link in found if _live(link)),
                               key=lambda link: link_ids.index(link.id))
    # Forget what no longer holds (an ended session, revoked or expired links).
    kept: dict = {}
    if visitor.contact is not None:
        kept.update(contact=visitor.contact.id, at=state.get("at"))
    if visitor.links:
        kept["links"] = [link.id for link in visitor.links]
    if kept != state:
        _save(kept)
    return visitor


def _live(link: PortalLink) -> bool:
    try:
        check_live(link)
    except LinkRefused:
        return False
    return True


def document_or_404(visitor: Visitor, key: str) -> Document:
    """An issued document the visitor may see: its own customer's, or one a link opened.

    Another customer's, another tenant's, a draft and an unknown key all answer 404 alike.
    """
    if not PUBLIC_ID.fullmatch(key or ""):
        abort(404)
    document = db.session.scalar(select(Document).where(Document.public_id == key,
                                                        Document.number.is_not(None)))
    if document is None:
        abort(404)
    if visitor.contact is not None and document.customer_id == visitor.contact.customer_id:
        return document
    if visitor.link_for(document) is not None:
        return document
    abort(404)


def page_language(visitor: Visitor, document: Document | None = None) -> str:
    """The language of the customer whose page this is; else the browser's or the tenant's."""
    if document is not None:
        return language_of(document.customer.language)
    if visitor.contact is not None:
        return language_of(visitor.contact.customer.language)
    if visitor.links and visitor.links[0].document is not None:
        return language_of(visitor.links[0].document.customer.language)
    best = request.accept_languages.best_match(list(LOCALES))
    return language_of(best or g.tenant.locale)
