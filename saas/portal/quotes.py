"""A customer's answer to a quote in the portal, and telling the tenant's staff about it.

Accepting records the name typed, the time and the address it came from, then turns the
quote into a draft order confirmation through the conversion service (R3.2), for staff to
check and confirm. Declining records the comment. Either way staff get a to-do and an
e-mail (a mail-queue job, once per to-do).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from saas import clock
from saas.billing.documents.conversion import convert_quote_to_order
from saas.billing.documents.emails import DEFAULT_COLOR, Brand, render_email
from saas.billing.documents.models import Document
from saas.billing.documents.services import DocumentError, move
from saas.billing.documents.states import DocumentStatus
from saas.billing.todos.models import Todo, TodoKind
from saas.extensions import db
from saas.mail import Mail, postman
from saas.portal.documents import quote_is_open
from saas.portal.models import PortalLink, QuoteDecision, QuoteResponse
from saas.queue import MAIL_QUEUE, enqueue, job, mail_retry
from saas.tenants import audit, scoping
from saas.tenants.access import tenant_today_of
from saas.tenants.models import Membership, Role, Tenant, User
from saas.tenants.services import absolute_url

MAX_NAME = 200
MAX_COMMENT = 2000
# Who hears that a customer answered a quote: the people who make quotes and orders.
NOTIFIED_ROLES = (Role.OWNER, Role.ADMIN, Role.ACCOUNTANT, Role.STAFF)


class QuoteRefused(Exception):
    """The answer cannot be taken; the message (a msgid) says why, and which field."""

    def __init__(self, message: str, field: str = "", **values: object) -> None:
        super().__init__(message)
        self.message, self.field, self.values = message, field, values


@dataclass(frozen=True)
class Respondent:
    """Who answers, as far as the portal knows, and from where."""

    contact_id: int | None
    contact_name: str
    link: PortalLink | None
    ip_address: str
    user_agent: str


def accept_quote(quote: Document, name: str, respondent: Respondent) -> QuoteResponse:
    """Accept the quote in the typed name: recorded, a draft order made, staff told."""
    name = " ".join((name or "").split())
    if not name:
        raise QuoteRefused("Type your full name to accept the quote.", "name")
    if len(name) > MAX_NAME:
        raise QuoteRefused("The name is too long: %(num)d characters at most.", "name",
                           num=MAX_NAME)
    _check_open(quote)
    try:
        order = convert_quote_to_order(quote)
    except DocumentError as exc:  # the state changed under us: someone answered already
        raise QuoteRefused("This quote has been answered already.") from exc
    response = _record(quote, QuoteDecision.ACCEPTED, name, "", respondent, order)
    _tell_staff(quote, TodoKind.QUOTE_ACCEPTED,
                f"{quote.buyer_name}: quote {quote.number} accepted online by {name}",
                f"Draft order confirmation made from it: check it and confirm it."
                f" Accepted {response.responded_at:%Y-%m-%d %H:%M} UTC"
                f" from {respondent.ip_address or 'an unknown address'}.")
    return response


def decline_quote(quote: Document, comment: str, respondent: Respondent,
                  name: str = "") -> QuoteResponse:
    """Decline the quote, with the customer's comment: recorded, staff told."""
    comment = (comment or "").strip()
    name = " ".join((name or "").split()) or respondent.contact_name
    if len(comment) > MAX_COMMENT:
        raise QuoteRefused("The comment is too long: %(num)d characters at most.", "comment",
                           num=MAX_COMMENT)
    if len(name) > MAX_NAME:
        raise QuoteRefused("The name is too long: %(num)d characters at most.", "name",
                           num=MAX_NAME)
    _check_open(quote)
    try:
        move(quote, DocumentStatus.DECLINED)
    except DocumentError as exc:
        raise QuoteRefused("This quote has been answered already.") from exc
    response = _record(quote, QuoteDecision.DECLINED, name, comment, respondent, None)
    by = f" by {name}" if name else ""
    _tell_staff(quote, TodoKind.QUOTE_DECLINED,
                f"{quote.buyer_name}: quote {quote.number} declined online{by}",
                f"Comment: {comment}" if comment else "No comment given.")
    return response


def quote_response_of(quote: Document) -> QuoteResponse | None:
    return db.session.scalar(select(QuoteResponse).where(QuoteResponse.document_id == quote.id))


def _check_open(quote: Document) -> None:
    # The row lock makes two answers at once wait for each other; the unique key on
    # quote_responses is the backstop where there are no row locks (SQLite).
    db.session.execute(select(Document.id).where(Document.id == quote.id).with_for_update())
    db.session.refresh(quote)
    if quote_response_of(quote) is not None or quote.status != DocumentStatus.SENT:
        raise QuoteRefused("This quote has been answered already.")
    if not quote_is_open(quote, tenant_today_of(scoping.require_tenant_id())):
        raise QuoteRefused("This quote expired on %(date)s. Please ask us for a new one.",
                           date=quote.valid_until)


def _record(quote: Document, decision: QuoteDecision, name: str, comment: str,
            respondent: Respondent, order: Document | None) -> QuoteResponse:
    response = QuoteResponse(
        document_id=quote.id, decision=decision, signed_name=name, comment=comment,
        contact_id=respondent.contact_id,
        link_id=respondent.link.id if respondent.link is not None else None,
        ip_address=respondent.ip_address[:45], user_agent=respondent.user_agent[:300],
        responded_at=clock.now(), order_id=order.id if order is not None else None)
    db.session.add(response)
    db.session.flush()
    audit.record(f"portal.quote_{decision.value}", quote,
                 f"{quote.title} {decision.value} online" + (f" by {name}" if name else ""),
                 {"ip": response.ip_address, "name": name}, user_id=None)
    return response


def _tell_staff(quote: Document, kind: TodoKind, title: str, details: str) -> None:
    todo = Todo(kind=kind, title=title[:300], details=details, customer_id=quote.customer_id,
                document_id=quote.id, due_on=tenant_today_of(scoping.require_tenant_id()))
    db.session.add(todo)
    db.session.flush()
    enqueue(notify_quote_response, todo.id, tenant_id=scoping.require_tenant_id(),
            queue=MAIL_QUEUE, retry=mail_retry(), job_id=f"quote-response-{todo.id}")


@job
def notify_quote_response(todo_id: int) -> int:
    """Mail-queue job: e-mail the tenant's quote makers once about a customer's answer."""
    todo = db.session.scalar(select(Todo).where(Todo.id == todo_id, Todo.notified_at.is_(None))
                             .with_for_update())
    if todo is None:
        return 0
    tenant = db.session.get(Tenant, todo.tenant_id)
    recipients = db.session.scalars(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.role.in_(NOTIFIED_ROLES), User.is_active_user.is_(True))
        .order_by(User.email)).all()
    response = quote_response_of(todo.document)
    target = response.order_id if response is not None and response.order_id else todo.document_id
    url = absolute_url("documents.show", tenant_slug=tenant.slug, document_id=target)
    brand = Brand(name=tenant.display_name, color=DEFAULT_COLOR, on_color="#ffffff", footer="")
    content = render_email("quote_response", todo.title, {
        "lang": "en", "brand": brand, "todo": todo, "response": response, "app_url": url})
    with postman() as carrier:
        for email in recipients:
            carrier.send(Mail(to=email, subject=content.subject, text=content.text,
                              html=content.html))
    todo.notified_at = clock.now()
    return len(recipients)
