"""The payments list with its filters, and one payment's page."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.payments import queries, services
from saas.billing.payments.forms import METHOD_CHOICES, PaymentForm
from saas.billing.payments.models import Payment, PaymentKind, PaymentMethod
from saas.billing.payments.views import bp
from saas.billing.payments.views.common import day_arg, may_book, may_record
from saas.htmx import render, wants_fragment
from saas.pagination import paginate
from saas.tenants.access import ALL_ROLES, get_or_404, requires

PAGE_SIZE = 25


def _filters() -> queries.PaymentFilters:
    method = request.args.get("method", "")
    customer_id = request.args.get("customer", type=int)
    if customer_id:
        get_or_404(Customer, customer_id)  # an id in the URL: this tenant's, or 404
    return queries.PaymentFilters(
        q=request.args.get("q", "").strip(), customer_id=customer_id,
        method=method if method in set(PaymentMethod) else "",
        date_from=day_arg("from"), date_to=day_arg("to"),
        unallocated=request.args.get("unallocated") == "1")


@bp.route("/")
@requires(ALL_ROLES)
def index() -> Response:
    filters = _filters()
    page = paginate(queries.payment_list(filters), request.args.get("page", 1, type=int),
                    PAGE_SIZE)
    url_args = {k: v for k, v in {
        "q": filters.q, "customer": filters.customer_id, "method": filters.method,
        "from": filters.date_from, "to": filters.date_to,
        "unallocated": "1" if filters.unallocated else None}.items() if v}
    context = {"page": page, "filters": filters, "url_args": url_args,
               "sums": queries.payment_sums(filters), "methods": METHOD_CHOICES,
               "customer": get_or_404(Customer, filters.customer_id)
               if filters.customer_id else None,
               "left": {payment.id: services.unallocated(payment) for payment in page.items}}
    if wants_fragment() and request.headers.get("HX-Target") == "payment-results":
        return render("payments/list.html", block="results", **context)
    return render("payments/list.html", **context)


def payment_page(payment: Payment, status: int = 200, **extra: Any) -> Response:
    """A payment: what it settles, what is left of it to allocate, reversing, refunding."""
    context: dict[str, Any] = {
        "payment": payment, "may_record": may_record(), "may_book": may_book(),
        "left": services.left_to_allocate(payment),
        "credit": services.customer_credit(payment.customer_id, payment.currency),
        "open_invoices": [], "errors": {}, "entered": {},
    }
    if payment.kind == PaymentKind.RECEIVED and not payment.is_reversed and context["left"]:
        context["open_invoices"] = services.open_invoices(payment.customer_id,
                                                          payment.currency)
    if context["credit"] > 0:
        refund_form = PaymentForm(formdata=None)
        refund_form.amount.data = context["credit"]
        refund_form.received_on.data = services.today()
        context["refund_form"] = refund_form
    context.update(extra)
    return render("payments/show.html", status=status, **context)


@bp.route("/<int:payment_id>")
@requires(ALL_ROLES)
def show(payment_id: int) -> Response:
    return payment_page(get_or_404(Payment, payment_id))
