"""Forms of the bureau's pages and of a client's *Settings → Bureau*."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from saas.forms import (
    LANGUAGES,
    choices,
    country_choices,
    currency_choices,
    strip,
    timezone_choices,
)
from saas.tenants.forms import CompanyIdsChecked
from saas.tenants.models import BureauMode

MODE_CHOICES = choices((mode.value, mode.label) for mode in BureauMode)


class OnboardForm(CompanyIdsChecked, FlaskForm):
    """A new client company, set up by the bureau."""

    name = StringField("Company name", filters=[strip],
                       validators=[DataRequired(), Length(max=200)])
    country = SelectField("Country", choices=country_choices(), default="PL")
    currency = SelectField("Currency", choices=currency_choices(), default="PLN")
    locale = SelectField("Language", choices=choices(LANGUAGES.items()), default="pl")
    timezone = SelectField("Time zone", choices=timezone_choices(), default="Europe/Warsaw")
    org_number = StringField("Organisation number", filters=[strip],
                             validators=[Optional(), Length(max=40)])
    vat_id = StringField("VAT id", filters=[strip], validators=[Optional(), Length(max=40)])
    address_line1 = StringField("Address", filters=[strip], validators=[Length(max=200)])
    postal_code = StringField("Postal code", filters=[strip], validators=[Length(max=20)])
    city = StringField("City", filters=[strip], validators=[Length(max=100)])
    mode = RadioField("How the bureau serves it", choices=MODE_CHOICES,
                      default=BureauMode.OPERATED.value)
    email = EmailField("E-mail of someone at the company (optional)", filters=[strip],
                       validators=[Optional(), Email(check_deliverability=False),
                                   Length(max=254)])


class GrantForm(FlaskForm):
    """An existing company lets a bureau serve it."""

    code = TextAreaField("The bureau's invite code", filters=[strip],
                         validators=[DataRequired(), Length(max=500)])
    mode = RadioField("How the bureau serves you", choices=MODE_CHOICES,
                      default=BureauMode.OPERATED.value)


class ModeForm(FlaskForm):
    mode = SelectField("Mode", choices=MODE_CHOICES)


class FeesForm(FlaskForm):
    fee_documents = BooleanField("Per document issued")
    fee_letters = BooleanField("Per letter posted")
    fee_bank_lines = BooleanField("Per bank line matched")
    fee_monthly = BooleanField("Monthly fee")


class MonthForm(FlaskForm):
    """A month as the browser's month input sends it: 2026-11."""

    month = StringField("Month", filters=[strip], validators=[DataRequired()])
    issue = BooleanField("Issue the invoices at once (else drafts)")

    def validate_month(self, field: StringField) -> None:
        self.first_day()  # raises when it is not a month

    def first_day(self) -> date:
        try:
            return date.fromisoformat(f"{self.month.data}-01")
        except (TypeError, ValueError):
            raise ValidationError("Give a month like 2026-11.") from None
