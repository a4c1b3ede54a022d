"""Forms of the sales documents: the header, a line, the quantities to invoice or credit."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from saas.billing.catalog.forms import (
    NONE_CHOICE,
    QUANTITY_LIMIT,
    CatalogForm,
    DecimalText,
    id_field,
    max_decimals,
    money_field,
    product_choices,
    text_field,
    vat_rate_choices,
)
from saas.billing.customers.models import Site
from saas.billing.documents.numbering import RESETS
from saas.billing.payments import references
from saas.extensions import db
from saas.forms import LANGUAGES, IntegerField, choices, strip


class HeaderForm(CatalogForm):
    language = SelectField("Language", choices=choices(LANGUAGES.items()))
    # Shown on invoices and proformas only: left out of the form, the terms stay as they are.
    payment_terms_days = IntegerField("Payment terms (days)", validators=[
        Optional(), NumberRange(min=0, max=365, message="Use 0 to 365 days.")])
    delivery_date = DateField("Date of supply", validators=[Optional()])
    valid_until = DateField("Valid until", validators=[Optional()])
    payment_reference = text_field("Payment reference", 35, required=False)
    notes = TextAreaField("Notes", filters=[strip], validators=[Length(max=2000)])
    show_balance = BooleanField("Print the customer's balance")
    payment_demand = BooleanField("Print a payment demand")


class LineForm(CatalogForm):
    product_id = id_field("Product")
    description = TextAreaField("Description", filters=[strip], validators=[Length(max=2000)])
    quantity = DecimalText("Quantity", [
        InputRequired(message="Enter a quantity."), max_decimals(4),
        NumberRange(min=-QUANTITY_LIMIT, max=QUANTITY_LIMIT,
                    message="That quantity is too large."),
    ])
    unit = text_field("Unit", 20, required=False)
    unit_price = money_field("Unit price", required=False)
    discount_percent = DecimalText("Discount %", [
        Optional(), max_decimals(2), NumberRange(min=0, max=100, message="Use 0 to 100 %%.")])
    vat_rate_id = id_field("VAT rate")
    site_id = id_field("Site")

    def __init__(self, *args: Any, customer_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        self.product_id.choices = product_choices(obj.product_id if obj else None)
        self.vat_rate_id.choices = vat_rate_choices(obj.vat_rate_id if obj else None)
        sites = db.session.scalars(
            select(Site).where(Site.customer_id == customer_id).order_by(Site.code)
        ) if customer_id else []
        self.site_id.choices = [NONE_CHOICE, *(
            SelectChoice(str(site.id), f"{site.code} {site.name}") for site in sites)]


class SeriesForm(CatalogForm):
    format = text_field("Format", 60)
    reset = SelectField("Counter restarts", choices=choices(
        (reset, {"yearly": "Every year", "monthly": "Every month", "never": "Never"}[reset])
        for reset in RESETS))


class KidLengthField(IntegerField):
    """A whole number of digits; what is not one is refused in words naming the field."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"{self.label.text}: enter a whole number of digits.") from None


class ReferenceSchemeForm(CatalogForm):
    reference_scheme = SelectField("Reference scheme", choices=choices(
        references.SCHEME_NAMES.items()))
    reference_length = KidLengthField("KID length (digits, check digit included)", validators=[
        Optional(), NumberRange(min=references.MIN_GENERATED_KID_LENGTH,
                                max=references.MAX_KID_LENGTH,
                                message=f"KID length: use {references.MIN_GENERATED_KID_LENGTH}"
                                        f" to {references.MAX_KID_LENGTH} digits.")])


class HandoverForm(FlaskForm):
    """Just the CSRF token: issuing, converting, status changes."""
