"""The payments settings page (/t/<slug>/settings/payments): how the tenant takes card
payments in its portal, and the Stripe events that came in (R6.1).

Managers connect the tenant's own Stripe keys or a Connect account, replace or remove
them; everyone on the staff sees which account is used (and whether it is in test mode)
and the recent Stripe events with their outcome, failures included; managers retry an
event whose processing failed.
"""

from __future__ import annotations

from flask import flash, g, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.portal import stripe_connections, stripe_events
from saas.portal.forms import ConnectForm, OwnKeysForm
from saas.portal.models import EventStatus, StripeEvent
from saas.tenants.access import ALL_ROLES, MANAGERS, get_or_404, requires, staff_blueprint
from saas.tenants.services import absolute_url

bp = staff_blueprint("payment_settings", __name__, "/settings/payments")

EVENTS_SHOWN = 100
# What a tenant's own webhook endpoint should be sent (Stripe's "events to send").
EVENT_TYPES = (
    stripe_events.PAID_EVENT,
    "checkout.session.async_payment_succeeded",
    stripe_events.ASYNC_FAILED,
    stripe_events.EXPIRED,
    stripe_events.INTENT_EVENT,
    stripe_events.INTENT_FAILED,
    stripe_events.REFUND_EVENT,
)


def _page(
    keys_form: OwnKeysForm | None = None, connect_form: ConnectForm | None = None, status: int = 200
) -> Response:
    connection = stripe_connections.connection_of_current_tenant()
    try:
        account, unreadable = stripe_connections.account_of(connection), False
    except stripe_connections.KeysUnreadable:
        account, unreadable = None, True
    platform = stripe_connections.platform_account()
    return render(
        "settings/payments.html",
        connection=connection,
        account=account,
        unreadable=unreadable,
        platform=platform,
        connect_possible=platform is not None and not platform.is_demo,
        keys_form=keys_form or OwnKeysForm(),
        connect_form=connect_form or ConnectForm(),
        webhook_url=absolute_url("stripe_webhook.tenant_webhook", tenant_slug=g.tenant.slug),
        event_types=EVENT_TYPES,
        status=status,
    )


@bp.route("")
@requires(MANAGERS)
def page() -> Response:
    return _page()


@bp.route("/keys", methods=["POST"])
@requires(MANAGERS)
def save_keys() -> Response:
    form = OwnKeysForm()
    if form.validate_on_submit():
        try:
            connection = stripe_connections.save_own_keys(
                form.secret_key.data, form.webhook_secret.data, user_id=current_user.id
            )
        except stripe_connections.ConnectionRefused as exc:
            db.session.rollback()
            form[exc.field].errors = [str(exc)]
        else:
            db.session.commit()
            mode = "live" if connection.livemode else "test mode"
            flash(
                f"Your Stripe keys are saved ({mode}). Give Stripe the webhook address"
                " below if you have not yet.",
                "success",
            )
            return redirect_to(url_for("payment_settings.page"))
    return _page(keys_form=form, status=422)


@bp.route("/connect", methods=["POST"])
@requires(MANAGERS)
def save_connect() -> Response:
    form = ConnectForm()
    if form.validate_on_submit():
        try:
            stripe_connections.save_connect_account(form.account_id.data, user_id=current_user.id)
        except stripe_connections.ConnectionRefused as exc:
            db.session.rollback()
            form[exc.field].errors = [str(exc)]
        else:
            db.session.commit()
            flash("The Connect account is connected: payments go to it from now on.", "success")
            return redirect_to(url_for("payment_settings.page"))
    return _page(connect_form=form, status=422)


@bp.route("/remove", methods=["POST"])
@requires(MANAGERS)
def remove() -> Response:
    if stripe_connections.remove_connection(user_id=current_user.id):
        db.session.commit()
        flash(
            "Removed. Card payments go through the platform's Stripe account again, if it has one.",
            "success",
        )
    return redirect_to(url_for("payment_settings.page"))


# --- events -----------------------------------------------------------------------------------


@bp.route("/events")
@requires(ALL_ROLES)
def events() -> Response:
    rows = db.session.scalars(
        select(StripeEvent)
        .order_by(StripeEvent.received_at.desc(), StripeEvent.id.desc())
        .limit(EVENTS_SHOWN)
    ).all()
    return render(
        "settings/payment_events.html",
        events=rows,
        failed=sum(1 for row in rows if row.status == EventStatus.FAILED),
    )


@bp.route("/events/<int:stripe_event_id>/retry", methods=["POST"])
@requires(MANAGERS)
def retry(stripe_event_id: int) -> Response:
    """Process an event again now (after its cause is fixed)."""
    row = get_or_404(StripeEvent, stripe_event_id)
    result = stripe_events.retry_event(row)
    db.session.commit()
    if result.status == EventStatus.PROCESSED:
        flash(f"Event {result.event_id} processed: {result.outcome}.", "success")
    else:
        flash(f"Event {result.event_id} failed again: {result.outcome}", "error")
    return redirect_to(url_for("payment_settings.events"))
