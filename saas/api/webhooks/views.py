"""Settings → Webhooks (/t/<slug>/settings/webhooks): endpoints, their secrets and delivery
log, replays and test pings; for owners and admins."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.api.webhooks import services
from saas.api.webhooks.forms import EndpointForm
from saas.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from saas.events import EVENT_NAMES
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.pagination import paginate
from saas.tenants.access import MANAGERS, get_or_404, requires, staff_blueprint

bp = staff_blueprint("webhooks", __name__, "/settings/webhooks")

LOG_PAGE_SIZE = 25


@bp.route("")
@requires(MANAGERS)
def index() -> Response:
    return render("webhooks/index.html", summaries=services.endpoint_summaries(),
                  event_names=EVENT_NAMES)


def _refused(form: EndpointForm, exc: services.EndpointRefused) -> None:
    db.session.rollback()
    form[exc.field].errors = [str(exc)]


@bp.route("/new", methods=["GET", "POST"])
@requires(MANAGERS)
def new() -> Response:
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            endpoint, secret = services.create_endpoint(
                form.url.data, form.events.data or [], form.description.data,
                form.active.data, user_id=current_user.id)
        except services.EndpointRefused as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            # Shown in this answer only: the secret is never sent again (nor kept in the
            # session cookie by a redirect).
            return render("webhooks/secret.html", endpoint=endpoint, secret=secret,
                          created=True)
    return render("webhooks/form.html", form=form, endpoint=None,
                  status=422 if form.errors else 200)


def _log(endpoint: WebhookEndpoint) -> tuple[object, str]:
    shown = request.args.get("show", "")
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if shown in {choice.value for choice in DeliveryStatus}:
        statement = statement.where(WebhookDelivery.status == DeliveryStatus(shown))
    else:
        shown = ""
    page = paginate(statement.order_by(WebhookDelivery.id.desc()),
                    request.args.get("page", 1, type=int), LOG_PAGE_SIZE)
    return page, shown


def _endpoint_page(endpoint: WebhookEndpoint, form: EndpointForm | None = None,
                   status: int = 200) -> Response:
    page, shown = _log(endpoint)
    if form is None:
        form = EndpointForm(obj=endpoint)
    return render("webhooks/endpoint.html", block="delivery_log", endpoint=endpoint,
                  form=form, page=page, shown=shown, statuses=list(DeliveryStatus),
                  status=status)


@bp.route("/<int:webhook_endpoint_id>", methods=["GET", "POST"])
@requires(MANAGERS)
def endpoint(webhook_endpoint_id: int) -> Response:
    """The endpoint's settings and its delivery log (newest first, filtered by status)."""
    endpoint = get_or_404(WebhookEndpoint, webhook_endpoint_id)
    if request.method == "GET":
        return _endpoint_page(endpoint)
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            services.update_endpoint(endpoint, form.url.data, form.events.data or [],
                                     form.description.data, form.active.data,
                                     user_id=current_user.id)
        except services.EndpointRefused as exc:
            _refused(form, exc)
            endpoint = get_or_404(WebhookEndpoint, webhook_endpoint_id)
        else:
            db.session.commit()
            flash("Webhook endpoint saved.", "success")
            return redirect_to(url_for("webhooks.endpoint", webhook_endpoint_id=endpoint.id))
    return _endpoint_page(endpoint, form, status=422)


@bp.route("/<int:webhook_endpoint_id>/rotate", methods=["POST"])
@requires(MANAGERS)
def rotate(webhook_endpoint_id: int) -> Response:
    endpoint = get_or_404(WebhookEndpoint, webhook_endpoint_id)
    secret = services.rotate_secret(endpoint, user_id=current_user.id)
    db.session.commit()
    return render("webhooks/secret.html", endpoint=endpoint, secret=secret, created=False)


@bp.route("/<int:webhook_endpoint_id>/test", methods=["POST"])
@requires(MANAGERS)
def send_test(webhook_endpoint_id: int) -> Response:
    endpoint = get_or_404(WebhookEndpoint, webhook_endpoint_id)
    if not endpoint.active:
        flash("The endpoint is switched off: switch it on first, then send a test event.",
              "error")
        return redirect_to(url_for("webhooks.endpoint", webhook_endpoint_id=endpoint.id))
    services.send_test(endpoint, user_id=current_user.id)
    db.session.commit()
    flash("A webhook.test event is on its way: its delivery is at the top of the log.",
          "success")
    return redirect_to(url_for("webhooks.endpoint", webhook_endpoint_id=endpoint.id))


@bp.route("/deliveries/<int:webhook_delivery_id>")
@requires(MANAGERS)
def delivery(webhook_delivery_id: int) -> Response:
    """One delivery: what was sent, what came back, each try's outcome."""
    row = get_or_404(WebhookDelivery, webhook_delivery_id)
    replays = db.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.replay_of_id == row.id).order_by(WebhookDelivery.id)).all()
    return render("webhooks/delivery.html", delivery=row, replays=replays)


@bp.route("/deliveries/<int:webhook_delivery_id>/replay", methods=["POST"])
@requires(MANAGERS)
def replay(webhook_delivery_id: int) -> Response:
    row = get_or_404(WebhookDelivery, webhook_delivery_id)
    if not row.endpoint.active:
        flash("The endpoint is switched off: switch it on first, then replay.", "error")
        return redirect_to(url_for("webhooks.delivery", webhook_delivery_id=row.id))
    again = services.replay(row, user_id=current_user.id)
    db.session.commit()
    flash(f"Sent again as delivery #{again.id}.", "success")
    return redirect_to(url_for("webhooks.delivery", webhook_delivery_id=again.id))
