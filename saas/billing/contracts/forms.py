"""Forms of contracts, their lines, annexes and termination."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from saas.billing.catalog.forms import (
    NONE_CHOICE,
    QUANTITY_LIMIT,
    CatalogForm,
    DecimalText,
    above_zero,
    customer_choices,
    id_field,
    max_decimals,
    money_field,
    optional_id,
    product_choices,
    quantity_field,
    text_field,
)
from saas.billing.contracts.models import ContractType
from saas.billing.contracts.proration import BillingPeriod
from saas.billing.documents.forms import LineForm
from saas.extensions import db
from saas.forms import IntegerField, choices, strip


def type_choices() -> list[SelectChoice]:
    types = db.session.scalars(select(ContractType).where(ContractType.is_archived.is_(False))
                               .order_by(ContractType.name))
    return [NONE_CHOICE, *(SelectChoice(str(t.id), t.name) for t in types)]


class ContractForm(CatalogForm):
    customer_id = id_field("Customer", "Choose the customer.")
    contract_type_id = id_field("Contract type")
    number = text_field("Number (blank: the next one)", 40, required=False)
    title = text_field("Title", 200, required=False)
    start_date = DateField("Starts on", validators=[InputRequired()])
    end_date = DateField("Ends on (fixed term)", validators=[Optional()])
    notice_months = IntegerField("Notice period (months)", default=0, validators=[
        Optional(), NumberRange(min=0, max=60, message="Use 0 to 60 months.")])
    billing_period = SelectField("Billed", choices=choices(
        (p.value, p.label) for p in BillingPeriod))
    in_advance = BooleanField("In advance (else in arrears)", default=True)
    billing_day = IntegerField("Billing day of the month", default=1, validators=[
        InputRequired(), NumberRange(min=1, max=28, message="Use 1 to 28.")])
    payment_terms_days = IntegerField("Payment terms (days)", validators=[
        Optional(), NumberRange(min=0, max=365, message="Use 0 to 365 days.")])
    notes = TextAreaField("Notes", filters=[strip], validators=[Length(max=2000)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_id.choices = customer_choices(optional_id(self.customer_id.data))
        self.contract_type_id.choices = type_choices()


class ContractLineForm(LineForm):
    """A contract line: as a document line, with the price optional (the price list's).

    A flat fee can include a volume each period (R4.6); the excess is billed at the
    price-list price of the "Excess billed as" product, else of the line's own product.
    """

    included_quantity = quantity_field("Included volume per period",
                                       "The included volume must be above 0.")
    included_unit = text_field("Volume unit", 20, required=False)
    overage_product_id = id_field("Excess billed as")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The products offered for the line (read once), unless the chosen one is not there.
        chosen = optional_id(self.overage_product_id.data)
        offered = self.product_id.choices
        if chosen is not None and str(chosen) not in {choice.value for choice in offered}:
            offered = product_choices(chosen)
        self.overage_product_id.choices = list(offered)


class UsageForm(CatalogForm):
    """Work done against a flat fee's included volume (R4.6)."""

    line_key = SelectField("Line", coerce=optional_id, validators=[
        DataRequired(message="Choose the flat-fee line the work was done under.")])
    used_on = DateField("Day", validators=[InputRequired(message="Give the day.")])
    quantity = DecimalText("Quantity", [
        InputRequired(message="Enter the quantity used."), max_decimals(4),
        above_zero("Give a quantity above 0."),
        NumberRange(max=QUANTITY_LIMIT, message="That quantity is too large."),
    ])
    description = TextAreaField("What was done", filters=[strip],
                                validators=[Length(max=2000)])

    def __init__(self, *args: Any, lines: list | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_key.choices = [NONE_CHOICE, *(
            SelectChoice(str(line.line_key), f"{line.line_key}. {line.description}")
            for line in lines or [] if line.included_quantity is not None)]


class AnnexForm(ContractLineForm):
    effective_date = DateField("From", validators=[InputRequired()])
    note = TextAreaField("What the annex says", filters=[strip], validators=[Length(max=2000)])
    action = SelectField("Change", choices=choices((
        ("change", "Change a line"), ("remove", "Remove a line"), ("add", "Add a line"))))
    line_key = SelectField("Line", coerce=optional_id)
    quantity = DecimalText("Quantity", [
        Optional(), max_decimals(4),
        NumberRange(min=0, max=QUANTITY_LIMIT, message="Use a quantity of 0 or more.")])
    unit_price = money_field("Unit price", required=False)

    def __init__(self, *args: Any, lines: list | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_key.choices = [NONE_CHOICE, *(
            SelectChoice(str(line.line_key), f"{line.line_key}. {line.description}")
            for line in lines or [])]


class TerminateForm(FlaskForm):
    termination_date = DateField("Last day of service", validators=[InputRequired()])


class TypeForm(CatalogForm):
    name = text_field("Name", 100)


class RunDefaultsForm(FlaskForm):
    runs_issue = BooleanField("Issue the invoices (else drafts to review)")
    runs_consolidate = BooleanField("One invoice per customer (else one per contract)")


class RunForm(FlaskForm):
    run_date = DateField("Bill as on", validators=[InputRequired()])
    contract_type_id = SelectField("Contracts", coerce=optional_id)
    consolidate = BooleanField("One invoice per customer (else one per contract)", default=True)
    issue = BooleanField("Issue the invoices (else drafts to review)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices_ = type_choices()
        self.contract_type_id.choices = [SelectChoice("", "All types"), *choices_[1:]]
