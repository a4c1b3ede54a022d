"""Links into the customer portal: made, e-mailed, opened, used once, revoked.

A token is 32 random bytes (``secrets.token_urlsafe``) in the link's path; the database
keeps only its SHA-256, found by that hash and compared again in constant time. The signed
tokens of ``tenants/tokens.py`` are not used here: a signature cannot be used up or
withdrawn, and these links must be — a sign-in link works once, a document link until
staff revoke it.

Asking for a sign-in link answers the same whether or not the address is known; a contact
gets at most ``SIGN_IN_LINKS_PER_HOUR`` of them (the rest are dropped silently), on top of
the rate limit per client on the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from saas import clock
from saas.billing.customers.models import Contact, Customer
from saas.billing.documents.delivery import current_branding
from saas.billing.documents.emails import brand, render_email
from saas.billing.documents.i18n import Formatter
from saas.billing.documents.models import Document
from saas.extensions import db
from saas.mail import Mail, queue_email
from saas.portal.models import LinkPurpose, PortalLink
from saas.tenants import audit, scoping
from saas.tenants.models import Tenant
from saas.tenants.services import absolute_url

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100
SIGN_IN_LINKS_PER_HOUR = 5
# Contacts e-mailed for one address: the same person may be a contact of a few customers.
MAX_CONTACTS_PER_ADDRESS = 5


class LinkRefused(Exception):
    """The link cannot be used; the message is the reason, a msgid for the customer."""


INVALID = "This link is not valid."
EXPIRED = "This link has expired."
USED = "This link has been used already."
REVOKED = "This link has been withdrawn."


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(purpose: LinkPurpose, lifetime: timedelta, *, contact_id: int | None = None,
              document_id: int | None = None) -> str:
    """Store a new link (its hash) and return its token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = clock.now()
    db.session.add(PortalLink(token_hash=hash_token(token), purpose=purpose,
                              contact_id=contact_id, document_id=document_id,
                              created_at=now, expires_at=now + lifetime))
    db.session.flush()
    return token


def _url(endpoint: str, token: str) -> str:
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    return absolute_url(endpoint, tenant_slug=tenant.slug, token=token)


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def may_use_portal(contact: Contact | None) -> bool:
    """A contact signs in while it has portal access, an address, and an active customer."""
    return (contact is not None and contact.portal_access and bool(contact.email)
            and not contact.customer.is_archived)


def portal_contacts(email: str) -> list[Contact]:
    """The contacts with portal access at this address, in the current tenant."""
    email = normalise_email(email)
    if not email:
        return []
    return list(db.session.scalars(
        select(Contact).join(Customer, Customer.id == Contact.customer_id)
        .where(func.lower(Contact.email) == email, Contact.portal_access.is_(True),
               Customer.is_archived.is_(False))
        .order_by(Contact.id).limit(MAX_CONTACTS_PER_ADDRESS)))


# --- sign-in links -----------------------------------------------------------------------


def request_sign_in(email: str) -> int:
    """E-mail a sign-in link to each contact with portal access at the address; how many.

    The caller answers alike whatever this returns: nobody learns which addresses are known.
    """
    sent = 0
    for contact in portal_contacts(email):
        if _recent_sign_in_links(contact) >= SIGN_IN_LINKS_PER_HOUR:
            continue
        queue_email(sign_in_mail(contact, sign_in_url(contact)))
        sent += 1
    return sent


def _recent_sign_in_links(contact: Contact) -> int:
    since = clock.now() - timedelta(hours=1)
    return db.session.scalar(
        select(func.count()).select_from(PortalLink)
        .where(PortalLink.contact_id == contact.id, PortalLink.purpose == LinkPurpose.SIGN_IN,
               PortalLink.created_at >= since)) or 0


def sign_in_url(contact: Contact, lifetime: timedelta | None = None) -> str:
    """A new single-use sign-in link for the contact (the demo asks for a longer lifetime)."""
    if lifetime is None:
        lifetime = timedelta(minutes=current_app.config["PORTAL_SIGN_IN_MINUTES"])
    token = _new_link(LinkPurpose.SIGN_IN, lifetime, contact_id=contact.id)
    return _url("portal.sign_in", token)


def sign_in_mail(contact: Contact, url: str) -> Mail:
    """The e-mail with a sign-in link, in the language of the contact's customer."""
    f = Formatter.for_language(contact.customer.language)
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    branding = current_branding()
    seller = (branding.email_sender_name if branding else "") or tenant.display_name
    subject = f.gettext("Your sign-in link for %(seller)s", seller=seller)
    minutes = current_app.config["PORTAL_SIGN_IN_MINUTES"]
    content = render_email("portal_sign_in", subject, {
        "_": f.gettext, "lang": f.language,
        "brand": brand({"name": tenant.display_name}, branding),
        "seller_name": seller, "customer_name": contact.customer.name,
        "expiry": f.ngettext("The link works once, within %(num)d minute.",
                             "The link works once, within %(num)d minutes.", minutes),
        "portal_url": url, "button_label": f.gettext("Sign in"),
    })
    return Mail(to=contact.email, subject=content.subject, text=content.text, html=content.html,
                sender_name=seller, reply_to=branding.reply_to if branding else "")


def find_sign_in_link(token: str) -> PortalLink:
    """A sign-in link that can still be used, by a contact that may still use the portal."""
    link = find_link(token, LinkPurpose.SIGN_IN)
    if not may_use_portal(link.contact):
        raise LinkRefused(INVALID)
    return link


def use_sign_in_link(token: str) -> Contact:
    """Use a sign-in link up and return its contact, or raise LinkRefused."""
    link = find_sign_in_link(token)
    now = clock.now()
    # Once, even when two requests race with the same link: one UPDATE finds it unused.
    used = db.session.execute(
        update(PortalLink).where(PortalLink.id == link.id, PortalLink.used_at.is_(None))
        .values(used_at=now), execution_options={"synchronize_session": False})
    if used.rowcount != 1:
        raise LinkRefused(USED)
    # Signed in: the contact's other sign-in links that wait unused are no longer needed.
    db.session.execute(
        update(PortalLink).where(PortalLink.contact_id == link.contact_id,
                                 PortalLink.purpose == LinkPurpose.SIGN_IN,
                                 PortalLink.used_at.is_(None), PortalLink.revoked_at.is_(None))
        .values(revoked_at=now), execution_options={"synchronize_session": False})
    return link.contact


# --- document links ----------------------------------------------------------------------


def document_url(document: Document, recipient: str) -> str:
    """A new link that opens the document in the portal, for its e-mail to recipient.

    Registered with the deliveries (``delivery.DOCUMENT_LINK``); the link names the contact
    the address belongs to, when it belongs to one.
    """
    email = normalise_email(recipient)
    contact_id = db.session.scalar(
        select(Contact.id).where(Contact.customer_id == document.customer_id,
                                 func.lower(Contact.email) == email)
        .order_by(Contact.portal_access.desc(), Contact.id).limit(1)) if email else None
    days = current_app.config["PORTAL_DOCUMENT_LINK_DAYS"]
    token = _new_link(LinkPurpose.DOCUMENT, timedelta(days=days), contact_id=contact_id,
                      document_id=document.id)
    return _url("portal.open_link", token)


def live_document_links(document: Document) -> int:
    """How many links to the document still open it."""
    return db.session.scalar(
        select(func.count()).select_from(PortalLink)
        .where(PortalLink.document_id == document.id, PortalLink.revoked_at.is_(None),
               PortalLink.expires_at > clock.now())) or 0


def first_opened(document: Document) -> datetime | None:
    """When a link to the document was first opened (the customer has seen it online)."""
    return db.session.scalar(
        select(func.min(PortalLink.used_at))
        .where(PortalLink.document_id == document.id,
               PortalLink.purpose == LinkPurpose.DOCUMENT))


def revoke_document_links(document: Document, user_id: int | None = None) -> int:
    """Withdraw every link that opens the document; how many were live."""
    revoked = db.session.execute(
        update(PortalLink).where(PortalLink.document_id == document.id,
                                 PortalLink.revoked_at.is_(None),
                                 PortalLink.expires_at > clock.now())
        .values(revoked_at=clock.now()), execution_options={"synchronize_session": False})
    count = revoked.rowcount or 0
    audit.record("portal.links_revoked", document,
                 f"{document.title}: {count} portal link{'s' if count != 1 else ''} revoked",
                 user_id=user_id)
    return count


# --- either kind -------------------------------------------------------------------------


def find_link(token: str, purpose: LinkPurpose) -> PortalLink:
    """The link of a token if it can still be used, else LinkRefused with the reason."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkRefused(INVALID)
    digest = hash_token(token)
    link = db.session.scalar(select(PortalLink).where(PortalLink.token_hash == digest,
                                                      PortalLink.purpose == purpose))
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        raise LinkRefused(INVALID)
    check_live(link)
    return link


def check_live(link: PortalLink) -> None:
    """Raise LinkRefused unless the link is unused (sign-in), unrevoked and unexpired."""
    if link.revoked_at is not None:
        raise LinkRefused(REVOKED)
    if link.purpose == LinkPurpose.SIGN_IN and link.used_at is not None:
        raise LinkRefused(USED)
    if aware(link.expires_at) <= clock.now():
        raise LinkRefused(EXPIRED)


def aware(moment: datetime) -> datetime:
    """SQLite keeps no zone; the app stores UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
