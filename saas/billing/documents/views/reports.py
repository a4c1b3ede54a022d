"""The quote / order difference report (R3.3) and post batches (R3.4)."""

from __future__ import annotations

from datetime import date

from flask import Response as FlaskResponse
from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.documents import post, queries
from saas.billing.documents.models import PostBatch
from saas.billing.documents.services import DocumentError
from saas.billing.documents.views import bp
from saas.billing.documents.views.common import EDITORS
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import ALL_ROLES, get_or_404, requires


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/reports/quote-order-differences")
@requires(ALL_ROLES)
def differences() -> Response:
    customer_id = request.args.get("customer", type=int)
    date_from, date_to = _day("from"), _day("to")
    rows = queries.quote_order_differences(customer_id, date_from, date_to)
    customer = db.session.get(Customer, customer_id) if customer_id else None
    customers = db.session.scalars(select(Customer).where(Customer.id.in_(
        {row.order.customer_id for row in rows})).order_by(Customer.name)).all()
    totals: dict[str, dict[str, object]] = {}
    for row in rows:
        total = totals.setdefault(row.order.currency, {"quotes": 0, "orders": 0, "count": 0})
        total["quotes"] += row.quote.net_total
        total["orders"] += row.order.net_total
        total["count"] += 1
    return render("documents/differences.html", rows=rows, customer=customer,
                  customers=customers, date_from=date_from, date_to=date_to, totals=totals,
                  block="report" if request.headers.get("HX-Target") == "report" else None)


# --- post batches (R3.4) -----------------------------------------------------------------


@bp.route("/post", methods=["GET", "POST"])
@requires(EDITORS)
def post_batches() -> Response:
    """What waits to be printed for customers who want post, and the batches made."""
    if request.method == "POST":
        try:
            batch = post.make_batch(user_id=current_user.id)
        except DocumentError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect_to(url_for("documents.post_batches"))
        db.session.commit()
        flash(f"Post batch {batch.id} is ready: {len(batch.deliveries)} documents.", "success")
        return redirect_to(url_for("documents.post_batches"))
    batches = db.session.scalars(select(PostBatch).order_by(PostBatch.id.desc()).limit(50)).all()
    return render("documents/post.html", pending=post.pending_documents(),
                  reminders=post.pending_reminders(), batches=batches)


@bp.route("/post/<int:post_batch_id>/pdf")
@requires(EDITORS)
def post_batch_pdf(post_batch_id: int) -> Response:
    batch = get_or_404(PostBatch, post_batch_id)
    response = FlaskResponse(batch.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="post-batch-{batch.id}.pdf"'
    return response


@bp.route("/post/<int:post_batch_id>/printed", methods=["POST"])
@requires(EDITORS)
def post_batch_printed(post_batch_id: int) -> Response:
    batch = get_or_404(PostBatch, post_batch_id)
    try:
        post.mark_printed(batch, user_id=current_user.id)
    except DocumentError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Post batch {batch.id} marked printed: its documents count as sent.", "success")
    return redirect_to(url_for("documents.post_batches"))
