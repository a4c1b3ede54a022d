"""Forms of the reminder policy, its levels and pauses."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from saas.billing.catalog.forms import (
    CatalogForm,
    DecimalText,
    max_decimals,
    money_field,
    text_field,
)
from saas.billing.reminders.models import FeeKind, Tone
from saas.forms import IntegerField, choices, strip


class PolicyForm(CatalogForm):
    enabled = BooleanField("Send reminders automatically")
    interest_rate = DecimalText("Statutory interest, % a year", [
        InputRequired(), max_decimals(4),
        NumberRange(min=0, max=100, message="Use 0 to 100 (%% a year).")], min_places=2)
    min_days_between = IntegerField("Days between two reminders of an invoice", validators=[
        InputRequired(), NumberRange(min=1, max=90, message="Use 1 to 90 days.")])
    notify_after_days = IntegerField("Tell us this many days after the last level", validators=[
        InputRequired(), NumberRange(min=0, max=90, message="Use 0 to 90 days.")])
    attach_invoice = BooleanField("Attach a copy of the invoice")


class LevelForm(CatalogForm):
    name = text_field("Name", 100)
    days_after_due = IntegerField("Days after the due date", validators=[
        InputRequired(), NumberRange(min=-60, max=365, message="Use -60 (before) to 365.")])
    tone = SelectField("Wording", choices=choices((t.value, t.label) for t in Tone))
    message = TextAreaField("Your own opening paragraph (optional)", filters=[strip],
                            validators=[Length(max=2000)])
    attach_letter = BooleanField("Attach the payment-demand letter (PDF)")
    fee_kind = SelectField("Fee", choices=choices((k.value, k.label) for k in FeeKind))
    fee_amount = money_field("Fixed fee (your currency)", required=False)
    fee_percent = DecimalText("Fee, % of the open amount", [
        Optional(), max_decimals(2), NumberRange(min=0, max=100, message="Use 0 to 100.")])
    fee_cap = money_field("At most (your currency)", required=False)
    charge_interest = BooleanField("Charge statutory interest since the due date")


class PauseForm(FlaskForm):
    reason = TextAreaField("Why (a dispute, a payment plan ...)", filters=[strip],
                           validators=[Length(max=2000)])
