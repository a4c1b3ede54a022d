"""A customer's account statement for a period: on a page, and as a PDF letter."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response as FlaskResponse
from flask import request
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.documents.delivery import current_branding
from saas.billing.documents.issuing import snapshot_buyer, snapshot_seller
from saas.billing.payments import services
from saas.billing.payments.accounts import (
    Statement,
    account_statement,
    statement_currencies,
)
from saas.billing.payments.statement_pdf import Movement, StatementLetter, render_statement
from saas.billing.payments.views import bp
from saas.billing.payments.views.common import day_arg
from saas.htmx import render
from saas.tenants.access import ALL_ROLES, get_or_404, requires


def default_period(today: date) -> tuple[date, date]:
    """This month and the two before it."""
    start = today.replace(day=1)
    for _ in range(2):
        start = (start - timedelta(days=1)).replace(day=1)
    return start, today


def statement_of(customer: Customer) -> tuple[Statement, list[str]]:
    """The statement the request asks for (period and currency), and the currencies."""
    currencies = statement_currencies(customer)
    currency = request.args.get("currency", "")
    if currency not in currencies:
        currency = currencies[0]
    start, end = default_period(services.today())
    date_from, date_to = day_arg("from") or start, day_arg("to") or end
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    return account_statement(customer, currency, date_from, date_to), currencies


def statement_context(customer: Customer) -> dict[str, Any]:
    statement, currencies = statement_of(customer)
    return {"statement": statement, "statement_currencies": currencies}


@bp.route("/statement/<int:customer_id>")
@requires(ALL_ROLES)
def statement(customer_id: int) -> Response:
    """The statement alone (the customer page shows it too, and swaps it for a period)."""
    customer = get_or_404(Customer, customer_id)
    return render("payments/statement.html", block="statement_panel", customer=customer,
                  **statement_context(customer))


@bp.route("/statement/<int:customer_id>.pdf")
@requires(ALL_ROLES)
def statement_pdf(customer_id: int) -> Response:
    """The statement as a letter to print or send."""
    customer = get_or_404(Customer, customer_id)
    found, _ = statement_of(customer)
    branding = current_branding()
    letter = StatementLetter(
        language=customer.language, currency=found.currency,
        statement_date=services.today(), date_from=found.date_from, date_to=found.date_to,
        seller=snapshot_seller(found.currency), buyer=snapshot_buyer(customer),
        opening=found.opening,
        movements=tuple(Movement(line.posted_on, line.text, line.due_date, line.charge,
                                 line.payment, line.balance) for line in found.lines),
        logo=branding.logo if branding is not None else None)
    response = FlaskResponse(render_statement(letter), mimetype="application/pdf")
    stem = f"statement-{customer.number}-{found.date_from}-{found.date_to}"
    disposition = "attachment" if request.args.get("download") else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{stem}.pdf"'
    return response
