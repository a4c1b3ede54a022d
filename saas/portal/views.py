"""The end customer's portal under /p/<tenant_slug>/, in the tenant's branding (R6.1).

A contact with portal access asks for a sign-in link on the front page and sees its
customer's documents; the link in a document's e-mail opens that document. Pages are in the
customer's language (the same catalogues as the documents and e-mails). The branding
assets (logo, colour stylesheet) are served here for the staff app too: a tenant's brand
is public by nature.
"""

from __future__ import annotations

import logging
import re
from datetime import date

import stripe
from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from saas import clock
from saas.billing.documents.i18n import Formatter
from saas.billing.documents.models import Document
from saas.billing.documents.pdf_content import TITLES
from saas.billing.documents.printing import stored_or_preview_pdf
from saas.billing.documents.services import document_totals
from saas.billing.documents.states import DocumentKind
from saas.billing.reminders.letter import bank_rows
from saas.billing.reports.ageing import BUCKETS as AGEING_BUCKETS
from saas.extensions import db, limiter
from saas.htmx import render
from saas.portal import (
    documents,
    links,
    quotes,
    statement,
    stripe_events,
    stripe_payments,
    visitors,
)
from saas.portal.models import LinkPurpose
from saas.portal.stripe_connections import KeysUnreadable, StripeAccount
from saas.tenants import services
from saas.tenants.access import tenant_today
from saas.tenants.models import Branding

log = logging.getLogger(__name__)
bp = Blueprint("portal", __name__, url_prefix="/p/<tenant_slug>")

EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ASSETS = ("portal.logo", "portal.branding_css")


@bp.before_request
def load_visitor() -> None:
    if request.endpoint not in ASSETS:
        g.portal_visitor = visitors.load_visitor()


@bp.after_request
def keep_out_of_caches(response: Response) -> Response:
    # A customer's documents must not stay in a shared computer's or a proxy's cache.
    if request.endpoint not in ASSETS:
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.context_processor
def portal_helpers() -> dict[str, object]:
    if g.get("tenant") is None:  # the error page of an unknown tenant's address
        return {}
    visitor = g.get("portal_visitor") or visitors.Visitor()
    f = Formatter.for_language(g.get("portal_language") or visitors.page_language(visitor))
    return {
        "_": f.gettext,
        "f": f,
        "lang": f.language,
        "visitor": visitor,
        "tenant": g.tenant,
        "branding": services.branding_of_current_tenant(),
        "title_of": lambda document: f"{f.gettext(TITLES[str(document.kind)])} {document.number}",
    }


def _gettext(message: str, **values: object) -> str:
    """Translate for the current visitor (flash messages, before a page renders)."""
    language = g.get("portal_language") or visitors.page_language(g.portal_visitor)
    return Formatter.for_language(language).gettext(message, **values)


def _link_rate_limit() -> str:
    return current_app.config["PORTAL_LINK_RATE_LIMIT"]


# --- signing in and out -----------------------------------------------------------------


@bp.route("/")
def home() -> Response:
    if g.portal_visitor.contact is not None:
        return redirect(url_for("portal.documents_list"))
    return render("portal/home.html", email="", error="")


@bp.route("/sign-in", methods=["POST"])
@limiter.limit(_link_rate_limit, methods=["POST"])
def request_link() -> Response:
    """E-mail a sign-in link; the answer is the same whether the address is known or not."""
    email = links.normalise_email(request.form.get("email"))
    if len(email) > 254 or not EMAIL_SHAPE.fullmatch(email):
        error = _gettext("Enter your e-mail address, like name@example.com.")
        return render("portal/home.html", email=email[:254], error=error, status=422)
    links.request_sign_in(email)
    db.session.commit()
    flash(
        _gettext(
            "If %(email)s may use this portal, a sign-in link is on its way to it."
            " Check your e-mail.",
            email=email,
        ),
        "info",
    )
    return redirect(url_for("portal.home"))


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
def sign_in(token: str) -> Response:
    """Sign in with an e-mailed link: shown on GET, used up on POST.

    Mail systems open links to scan them before people do: a GET that used the link up
    would spend it before its owner clicked.
    """
    try:
        if request.method == "POST":
            contact = links.use_sign_in_link(token)
            visitors.sign_in(contact)
            db.session.commit()
            return redirect(url_for("portal.documents_list"))
        link = links.find_sign_in_link(token)
    except links.LinkRefused as exc:
        db.session.rollback()
        return _refused(exc)
    g.portal_language = visitors.page_language(visitors.Visitor(contact=link.contact))
    return render("portal/sign_in.html", contact=link.contact, token=token)


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    message = _gettext("You are signed out.")
    visitors.sign_out()
    flash(message, "info")
    return redirect(url_for("portal.home"))


@bp.route("/d/<token>")
def open_link(token: str) -> Response:
    """Open a document from its e-mail: this browser may see it while the link lives."""
    try:
        link = links.find_link(token, LinkPurpose.DOCUMENT)
    except links.LinkRefused as exc:
        return _refused(exc)
    if link.used_at is None:
        link.used_at = clock.now()  # first opened: the staff page says so
    visitors.remember_link(link)
    db.session.commit()
    return redirect(url_for("portal.document", document_key=link.document.public_id))


def _refused(exc: links.LinkRefused) -> Response:
    status = 404 if str(exc) == links.INVALID else 410
    return render("portal/link_refused.html", reason=str(exc), status=status)


# --- documents ----------------------------------------------------------------------------


def _sign_in_first() -> WerkzeugResponse:
    flash(_gettext("Sign in to see your documents."), "info")
    return redirect(url_for("portal.home"))


@bp.route("/documents")
def documents_list() -> Response:
    contact = g.portal_visitor.contact
    if contact is None:
        return _sign_in_first()
    listing = documents.customer_documents(contact.customer_id)
    account = _payment_account()
    return render(
        "portal/documents.html",
        contact=contact,
        customer=contact.customer,
        listing=listing,
        today=tenant_today(),
        status_word=documents.status_word,
        can_pay=account is not None,
        test_mode=account is not None and account.test_mode,
        failure=stripe_events.latest_failure(contact.customer_id),
    )


def _payment_account() -> StripeAccount | None:
    """The tenant's Stripe account; None (no Pay button) also when its keys are unreadable."""
    try:
        return stripe_payments.account()
    except KeysUnreadable:
        log.exception("tenant %s: its Stripe keys cannot be decrypted", g.tenant.id)
        return None


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _statement() -> statement.PortalStatement | None:
    contact = g.portal_visitor.contact
    if contact is None:
        return None
    return statement.portal_statement(
        contact.customer, request.args.get("currency"), _day("from"), _day("to"), tenant_today()
    )


@bp.route("/statement")
def account_statement() -> Response:
    """The signed-in contact's customer's account: balance, ageing, movements (R6.1).

    Only for a signed-in contact: a document link opens one document, not the account.
    """
    found = _statement()
    if found is None:
        return _sign_in_first()
    return render(
        "portal/statement.html",
        found=found,
        s=found.statement,
        buckets=AGEING_BUCKETS,
        customer=g.portal_visitor.contact.customer,
    )


@bp.route("/statement.pdf")
def statement_pdf() -> Response:
    found = _statement()
    if found is None:
        return _sign_in_first()
    s = found.statement
    response = Response(statement.statement_pdf(s, tenant_today()), mimetype="application/pdf")
    name = f"statement-{s.customer.number}-{s.date_from}-{s.date_to}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


@bp.route("/pay", methods=["POST"])
def pay() -> WerkzeugResponse:
    """Pay the ticked open invoices: off to a Stripe Checkout page for their open amounts."""
    contact = g.portal_visitor.contact
    if contact is None:
        return _sign_in_first()
    back = url_for("portal.documents_list", _external=True)
    try:
        if _payment_account() is None:
            raise stripe_payments.PayRefused("Paying online is not available.")
        invoices = stripe_payments.payable_invoices(
            contact.customer_id, request.form.getlist("invoice")
        )
        checkout = stripe_payments.start_checkout(
            g.tenant.id,
            contact.customer,
            invoices,
            email=contact.email or "",
            success_url=url_for("portal.paid", _external=True),
            cancel_url=back,
        )
    except stripe_payments.PayRefused as exc:
        flash(_gettext(str(exc), num=stripe_payments.MAX_INVOICES), "error")
        return redirect(url_for("portal.documents_list"))
    except stripe.StripeError:
        log.exception("Stripe refused a Checkout Session")
        flash(_gettext("Paying online did not start. Try again in a few minutes."), "error")
        return redirect(url_for("portal.documents_list"))
    return redirect(checkout.url, code=303)


@bp.route("/paid")
def paid() -> WerkzeugResponse:
    """Where Stripe sends the customer back after paying; the webhook records the payment."""
    flash(
        _gettext(
            "Thank you for your payment. It shows here as soon as the payment provider confirms it."
        ),
        "success",
    )
    return redirect(url_for("portal.documents_list"))


def _document(document_key: str) -> Document | WerkzeugResponse:
    if not g.portal_visitor.is_known:
        return _sign_in_first()
    document = visitors.document_or_404(g.portal_visitor, document_key)
    g.portal_language = visitors.page_language(g.portal_visitor, document)
    return document


@bp.route("/documents/<document_key>")
def document(document_key: str) -> Response:
    found = _document(document_key)
    if not isinstance(found, Document):
        return found
    return _document_page(found)


def _document_page(
    document: Document,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    today = tenant_today()
    contact = g.portal_visitor.contact
    payable = document.kind in (DocumentKind.INVOICE, DocumentKind.PROFORMA)
    f = Formatter.for_language(g.portal_language)
    return render(
        "portal/document.html",
        document=document,
        totals=document_totals(document),
        bank_rows=bank_rows(document.seller or {}, document.currency, f) if payable else [],
        status_word=documents.status_word(document, today),
        answerable=documents.quote_is_open(document, today),
        response=(
            quotes.quote_response_of(document) if document.kind == DocumentKind.QUOTE else None
        ),
        own_customer=contact is not None and contact.customer_id == document.customer_id,
        errors=errors or {},
        values=values or {},
        status=status,
    )


@bp.route("/documents/<document_key>/pdf")
def pdf(document_key: str) -> Response:
    """The issued document's stored PDF, as a download."""
    found = _document(document_key)
    if not isinstance(found, Document):
        return found
    data = stored_or_preview_pdf(found)
    db.session.commit()  # a PDF rendered now (documents issued in bulk) is kept
    response = Response(data, mimetype="application/pdf")
    name = (found.number or "document").replace("/", "-").replace('"', "")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


def _respondent(document: Document) -> quotes.Respondent:
    """The contact answering (signed in, or the one the document's link was sent to)."""
    visitor = g.portal_visitor
    contact = visitor.contact
    if contact is not None and contact.customer_id != document.customer_id:
        contact = None
    link = visitor.link_for(document) if contact is None else None
    if link is not None:
        contact = link.contact
    return quotes.Respondent(
        contact_id=contact.id if contact else None,
        contact_name=contact.name if contact else "",
        link=link,
        ip_address=request.remote_addr or "",
        user_agent=request.user_agent.string or "",
    )


@bp.route("/documents/<document_key>/accept", methods=["POST"])
def accept(document_key: str) -> Response:
    return _answer(document_key, accepting=True)


@bp.route("/documents/<document_key>/decline", methods=["POST"])
def decline(document_key: str) -> Response:
    return _answer(document_key, accepting=False)


def _answer(document_key: str, accepting: bool) -> Response:
    """Accept or decline a quote; a refusal shows the page again with the reason."""
    found = _document(document_key)
    if not isinstance(found, Document):
        return found
    if found.kind != DocumentKind.QUOTE:
        abort(404)
    respondent = _respondent(found)
    values = {"name": request.form.get("name", ""), "comment": request.form.get("comment", "")}
    try:
        if accepting:
            quotes.accept_quote(found, values["name"], respondent)
        else:
            quotes.decline_quote(found, values["comment"], respondent, name=values["name"])
    except quotes.QuoteRefused as exc:
        db.session.rollback()
        f = Formatter.for_language(g.portal_language)
        message = f.gettext(
            exc.message,
            **{
                name: f.date(value) if isinstance(value, date) else value
                for name, value in exc.values.items()
            },
        )
        errors = {exc.field or "form": message, "action": "accept" if accepting else "decline"}
        return _document_page(
            db.session.get(Document, found.id), errors=errors, values=values, status=422
        )
    db.session.commit()
    if accepting:
        thanks = _gettext("Thank you: we have your acceptance and will confirm the order shortly.")
    else:
        thanks = _gettext("Thank you: the quote is declined, and we have your comment.")
    flash(thanks, "success")
    return redirect(url_for("portal.document", document_key=document_key))


@bp.route("/demo-checkout/<token>", methods=["GET", "POST"])
def demo_checkout(token: str) -> Response:
    """The demo's stand-in for Stripe's checkout page (no Stripe key, STRIPE_DEMO on).

    Paying here sends the app the event Stripe would send, through the same path.
    """
    session = stripe_payments.demo_session(token) if stripe_payments.is_demo() else None
    if session is None or session["metadata"].get("tenant_id") != str(g.tenant.id):
        abort(404)
    if request.method == "POST":
        stripe_events.store_event(stripe_payments.demo_paid_event(session))
        db.session.commit()
        return redirect(session["success_url"])
    currency = session["currency"].upper()
    amount = stripe_payments.from_minor_units(session["amount_total"], currency)
    return render(
        "portal/demo_checkout.html", session=session, amount=amount, currency=currency, token=token
    )


# --- the branding assets --------------------------------------------------------------------


@bp.route("/logo")
def logo() -> Response:
    branding = services.branding_of_current_tenant()
    if not branding.logo:
        abort(404)
    # Only the image types an upload is checked to be (services.check_logo): stored bytes
    # are never served as anything a browser would run, whatever the row says.
    mime = branding.logo_mime if branding.logo_mime in services.LOGO_FORMATS.values() else None
    response = Response(branding.logo, mimetype=mime or "application/octet-stream")
    response.headers["Content-Disposition"] = "inline" if mime else "attachment"
    return _cached(response, branding)


@bp.route("/brand.css")
def branding_css() -> Response:
    # A stylesheet rather than an inline style: the CSP allows no inline styles.
    branding = services.branding_of_current_tenant()
    css = f":root {{ --brand: {branding.primary_color}; }}\n"
    return _cached(Response(css, mimetype="text/css"), branding)


def _cached(response: Response, branding: Branding) -> Response:
    response.set_etag(
        f"{branding.logo_sha256 or ''}-{branding.primary_color}-"
        f"{branding.updated_at.timestamp() if branding.updated_at else ''}"
    )
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response.make_conditional(request)
