"""Forms of the payment pages: a payment (or refund), and amounts typed per invoice."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from flask import Request
from wtforms import DateField, Form, SelectField
from wtforms.validators import InputRequired, NumberRange

from saas.billing.catalog.forms import (
    MONEY_LIMIT,
    CatalogForm,
    DecimalText,
    above_zero,
    max_decimals,
    text_field,
)
from saas.billing.documents.models import Document
from saas.billing.payments.models import PaymentMethod
from saas.forms import choices

METHOD_CHOICES = choices((method.value, method.label) for method in PaymentMethod)


def amount_field(label: str = "Amount") -> DecimalText:
    return DecimalText(label, [
        InputRequired(message="Enter the amount."), max_decimals(4),
        above_zero("The amount must be more than zero."),
        NumberRange(max=MONEY_LIMIT, message="That amount is too large."),
    ], min_places=2)


class PaymentForm(CatalogForm):
    """Money received (or, as a refund, paid back): amount, day, method, reference."""

    amount = amount_field()
    received_on = DateField("Date", validators=[InputRequired(message="Enter the date.")])
    method = SelectField("Method", choices=METHOD_CHOICES)
    reference = text_field("Reference", 140, required=False)


class _AmountForm(Form):
    amount = DecimalText("Amount")


def parse_amount(text: str) -> Decimal | None:
    """An amount typed in a table row: empty is None; refused (ValueError) with the message
    a DecimalText field gives."""
    field = _AmountForm().amount
    field.process_formdata([text])
    return field.data


def typed_amounts(request: Request, documents: Iterable[Document],
                  ) -> tuple[list[tuple[Document, Decimal]], dict[int, str]]:
    """The amounts typed for the documents ("amount-<id>"): what to settle, and errors."""
    parts: list[tuple[Document, Decimal]] = []
    errors: dict[int, str] = {}
    for document in documents:
        try:
            amount = parse_amount(request.form.get(f"amount-{document.id}", ""))
        except ValueError as exc:
            errors[document.id] = str(exc)
            continue
        if amount is None:
            continue
        if amount <= 0:
            errors[document.id] = "Enter an amount above zero, or leave it empty."
        else:
            parts.append((document, amount))
    return parts, errors
