"""Recording payments, settling invoices with them or with credit notes, refunds, undoing.

Each view parses its form, calls one service and commits once; a refusal rolls back and
shows its reason on the page the form came from (422), with what was typed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.payments import services
from saas.billing.payments.forms import PaymentForm, typed_amounts
from saas.billing.payments.models import Allocation, Payment, PaymentKind
from saas.billing.payments.services import PaymentError
from saas.billing.payments.views import bp
from saas.billing.payments.views.common import (
    BOOKKEEPERS,
    RECORDERS,
    K,
    document_panel,
    issued_document,
    payment_form,
    refuse,
)
from saas.billing.payments.views.pages import payment_page
from saas.extensions import db
from saas.htmx import local_path, redirect_to, render, wants_fragment
from saas.tenants.access import get_or_404, requires


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _to_document(document: Document, message: str) -> Response:
    flash(message, "success")
    return redirect_to(url_for("documents.show", document_id=document.id))


# --- an invoice's (or a proforma's) payment ------------------------------------------------


@bp.route("/invoice/<int:document_id>/record", methods=["GET", "POST"])
@requires(RECORDERS)
def record_for_invoice(document_id: int) -> Response:
    """Record a payment of an issued invoice (what exceeds its open amount is credit), or a
    proforma's prepayment."""
    document = issued_document(document_id, K.INVOICE, K.PROFORMA)
    posted = request.method == "POST"
    form = payment_form(document, request.form if posted else None)
    message = ""
    if posted and form.validate_on_submit():
        amount, values = form.amount.data, {
            "method": form.method.data, "reference": form.reference.data,
            "user_id": current_user.id}
        # An invoice is settled by as much as is open; the rest is the customer's credit.
        part = min(amount, document.open_amount) if document.kind == K.INVOICE else amount
        try:
            if document.kind == K.PROFORMA:
                services.record_prepayment(document, amount, form.received_on.data, **values)
            else:
                services.record_payment(document.customer, amount, form.received_on.data,
                                        currency=document.currency,
                                        allocations=[(document, part)] if part > 0 else [],
                                        **values)
        except PaymentError as exc:
            message = refuse(form, exc)
        else:
            db.session.commit()
            done = (f"Payment of {_money(amount, document.currency)} recorded for"
                    f" {document.title}.")
            if amount > part:
                done += f" {_money(amount - part, document.currency)} is the customer's credit."
            return _to_document(document, done)
    status = 422 if posted else 200
    context = {"document": document, "message": message,
               **document_panel(document, payment_form=form, message=message)}
    if wants_fragment():
        return render("payments/_document_panel.html", status=status, **context)
    return render("payments/record.html", status=status, form=form, **context)


# --- a customer's payment on account, with what it settles --------------------------------


def _customer_page_form(customer: Customer) -> PaymentForm:
    form = PaymentForm(formdata=None)
    form.received_on.data = services.today()
    return form


@bp.route("/customer/<int:customer_id>/new", methods=["GET", "POST"])
@requires(RECORDERS)
def new(customer_id: int) -> Response:
    """Record money received from a customer and settle any of their open invoices."""
    customer = get_or_404(Customer, customer_id)
    invoices = services.open_invoices(customer.id, customer.currency)
    posted = request.method == "POST"
    form = PaymentForm() if posted else _customer_page_form(customer)
    message, errors = "", {}
    if posted:
        parts, errors = typed_amounts(request, invoices)
        if form.validate_on_submit() and not errors:
            try:
                payment = services.record_payment(
                    customer, form.amount.data, form.received_on.data,
                    method=form.method.data, reference=form.reference.data,
                    allocations=parts, user_id=current_user.id)
            except PaymentError as exc:
                message = refuse(form, exc)
                invoices = services.open_invoices(customer.id, customer.currency)
            else:
                db.session.commit()
                flash(f"Payment of {_money(payment.amount, payment.currency)} from"
                      f" {customer.name} recorded.", "success")
                return redirect_to(url_for("payments.show", payment_id=payment.id))
    entered = {doc.id: request.form.get(f"amount-{doc.id}", "") for doc in invoices}
    failed = bool(form.errors or errors or message)
    return render("payments/new.html", customer=customer, form=form, invoices=invoices,
                  errors=errors, entered=entered, message=message,
                  status=422 if failed else 200)


# --- settling from a payment, or from a credit note ---------------------------------------


@bp.route("/<int:payment_id>/allocate", methods=["POST"])
@requires(RECORDERS)
def allocate(payment_id: int) -> Response:
    """Settle the customer's open invoices from what is left of the payment."""
    payment = get_or_404(Payment, payment_id)
    invoices = services.open_invoices(payment.customer_id, payment.currency)
    parts, errors = typed_amounts(request, invoices)
    message = ""
    if not errors:
        try:
            made = services.allocate_all(payment, parts, user_id=current_user.id)
        except PaymentError as exc:
            message = refuse(None, exc)
        else:
            db.session.commit()
            flash(f"{_money(sum(a.amount for a in made), payment.currency)} of the payment"
                  f" settles {len(made)} invoice{'s' if len(made) > 1 else ''}.", "success")
            return redirect_to(url_for("payments.show", payment_id=payment.id))
    entered = {doc.id: request.form.get(f"amount-{doc.id}", "") for doc in invoices}
    return payment_page(get_or_404(Payment, payment_id), status=422, errors=errors,
                        entered=entered, message=message)


@bp.route("/credit-note/<int:document_id>/apply", methods=["POST"])
@requires(RECORDERS)
def apply_credit_note(document_id: int) -> Response:
    """Settle the customer's open invoices with what is left of the credit note."""
    note = issued_document(document_id, K.CREDIT_NOTE)
    invoices = services.open_invoices(note.customer_id, note.currency)
    parts, errors = typed_amounts(request, invoices)
    message = ""
    if not errors:
        try:
            made = services.apply_credit_note_all(note, parts, user_id=current_user.id)
        except PaymentError as exc:
            message = refuse(None, exc)
        else:
            db.session.commit()
            return _to_document(note, f"{_money(sum(a.amount for a in made), note.currency)}"
                                f" of {note.title} applied.")
    note = issued_document(document_id, K.CREDIT_NOTE)
    entered = {doc.id: request.form.get(f"amount-{doc.id}", "") for doc in invoices}
    context: dict[str, Any] = {"document": note, **document_panel(
        note, errors=errors, entered=entered, message=message)}
    if wants_fragment():
        return render("payments/_document_panel.html", status=422, **context)
    return render("payments/record.html", status=422, form=None, **context)


# --- undoing and refunding ----------------------------------------------------------------


def _back(default: str) -> str:
    return local_path(request.form.get("next"), default)


@bp.route("/allocations/<int:allocation_id>/undo", methods=["POST"])
@requires(RECORDERS)
def undo_allocation(allocation_id: int) -> Response:
    """The invoice is open again by the amount; the payment's credit, or the credit note's
    rest, is back."""
    allocation = get_or_404(Allocation, allocation_id)
    back = _back(url_for("documents.show", document_id=allocation.invoice_id))
    try:
        services.reverse_allocation(allocation, user_id=current_user.id)
    except PaymentError as exc:
        flash(refuse(None, exc), "error")
        return redirect_to(back)
    db.session.commit()
    flash(f"{_money(allocation.amount, allocation.invoice.currency)} no longer settles"
          f" {allocation.invoice.title}.", "success")
    return redirect_to(back)


@bp.route("/<int:payment_id>/reverse", methods=["POST"])
@requires(BOOKKEEPERS)
def reverse(payment_id: int) -> Response:
    """Undo a payment (and all it settles): entered by mistake, or bounced."""
    payment = get_or_404(Payment, payment_id)
    try:
        services.reverse_payment(payment, user_id=current_user.id)
    except PaymentError as exc:
        flash(refuse(None, exc), "error")
    else:
        db.session.commit()
        what = "payment" if payment.kind == PaymentKind.RECEIVED else "refund"
        flash(f"The {what} of {_money(payment.amount, payment.currency)} is reversed.",
              "success")
    return redirect_to(url_for("payments.show", payment_id=payment_id))


@bp.route("/customer/<int:customer_id>/refund", methods=["POST"])
@requires(BOOKKEEPERS)
def refund(customer_id: int) -> Response:
    """Pay (part of) the customer's credit back."""
    customer = get_or_404(Customer, customer_id)
    back = _back(url_for("customers.show", customer_id=customer.id))
    form = PaymentForm()
    if not form.validate_on_submit():
        flash("Not refunded: " + "; ".join(
            f"{form[name].label.text}: {' '.join(errors)}"
            for name, errors in form.errors.items()), "error")
        return redirect_to(back)
    currency = request.form.get("currency") or customer.currency
    try:
        made = services.refund(customer, form.amount.data, form.received_on.data,
                               currency=currency, method=form.method.data,
                               reference=form.reference.data, user_id=current_user.id)
    except PaymentError as exc:
        flash(f"Not refunded: {refuse(None, exc)}", "error")
        return redirect_to(back)
    db.session.commit()
    flash(f"Refund of {_money(made.amount, made.currency)} to {customer.name} recorded.",
          "success")
    return redirect_to(back)
