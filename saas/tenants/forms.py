"""Forms of the tenants package: sign-up, sign-in, passwords, members and settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from saas.forms import (
    LANGUAGES,
    check,
    choices,
    country_choices,
    currency_choices,
    role_choices,
    strip,
    timezone_choices,
)
from saas.tenants import validation
from saas.tenants.services import MIN_PASSWORD_LENGTH


class PasswordFields:
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords differ.")],
    )


class SignupForm(PasswordFields, FlaskForm):
    company_name = StringField("Company name", filters=[strip],
                               validators=[DataRequired(), Length(max=200)])
    country = SelectField("Country", choices=country_choices(), default="NO")
    currency = SelectField("Currency", choices=currency_choices(), default="EUR")
    name = StringField("Your name", filters=[strip], validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail", filters=[strip],
                       validators=[DataRequired(), Email(check_deliverability=False)])


class LoginForm(FlaskForm):
    email = EmailField("E-mail", filters=[strip],
                       validators=[DataRequired(), Email(check_deliverability=False)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("E-mail", filters=[strip],
                       validators=[DataRequired(), Email(check_deliverability=False)])


class ResetPasswordForm(PasswordFields, FlaskForm):
    pass


class AcceptInvitationForm(PasswordFields, FlaskForm):
    name = StringField("Your name", filters=[strip], validators=[DataRequired(), Length(max=200)])


class InviteForm(FlaskForm):
    email = EmailField("E-mail", filters=[strip],
                       validators=[DataRequired(), Email(check_deliverability=False)])
    role = SelectField("Role", choices=role_choices(include_owner=False), default="staff")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=role_choices())


class CompanyIdsChecked:
    """Checks a company's org number and VAT id against its country (form mixin)."""

    def validate_org_number(self, field: StringField) -> None:
        if field.data:
            check(field, validation.org_number, self.country.data)

    def validate_vat_id(self, field: StringField) -> None:
        if field.data:
            check(field, validation.vat_id, self.country.data)


class TenantProfileForm(CompanyIdsChecked, FlaskForm):
    name = StringField("Name", filters=[strip], validators=[DataRequired(), Length(max=200)])
    legal_name = StringField("Legal name", filters=[strip],
                             validators=[DataRequired(), Length(max=200)])
    org_number = StringField("Organisation number", filters=[strip],
                             validators=[Optional(), Length(max=40)])
    vat_id = StringField("VAT id", filters=[strip], validators=[Optional(), Length(max=40)])
    address_line1 = StringField("Address", filters=[strip], validators=[Length(max=200)])
    address_line2 = StringField("Address, line 2", filters=[strip], validators=[Length(max=200)])
    postal_code = StringField("Postal code", filters=[strip], validators=[Length(max=20)])
    city = StringField("City", filters=[strip], validators=[Length(max=100)])
    country = SelectField("Country", choices=country_choices())
    default_currency = SelectField("Default currency", choices=currency_choices())
    locale = SelectField("Language", choices=choices(LANGUAGES.items()))
    timezone = SelectField("Time zone", choices=timezone_choices())



class BankAccountForm(FlaskForm):
    label = StringField("Label", filters=[strip], validators=[Length(max=100)])
    country = SelectField("Bank country", choices=country_choices())
    iban = StringField("IBAN", filters=[strip], validators=[Length(max=50)])
    bban = StringField("Domestic account number", filters=[strip], validators=[Length(max=40)])
    bic = StringField("BIC", filters=[strip], validators=[Length(max=20)])
    currency = SelectField("Currency", choices=currency_choices())
    is_default = BooleanField("Default account for payments")

    def validate_iban(self, field: StringField) -> None:
        if not field.data and not self.bban.data:
            raise ValidationError("Give an IBAN, a domestic account number, or both.")
        if field.data:
            check(field, validation.iban)

    def validate_bban(self, field: StringField) -> None:
        if field.data:
            check(field, validation.bban, self.country.data)

    def validate_bic(self, field: StringField) -> None:
        if field.data:
            check(field, validation.bic)
        elif self.iban.data:
            raise ValidationError("Give the BIC with an IBAN (needed for international payments).")

    def account_values(self) -> dict[str, object]:
        return {
            "label": self.label.data,
            "iban": self.iban.data or "",
            "bban": self.bban.data or "",
            "bic": self.bic.data or "",
            "currency": self.currency.data,
            "is_default": self.is_default.data,
        }


class BrandingForm(FlaskForm):
    primary_color = StringField("Primary colour", filters=[strip], validators=[DataRequired()])
    footer_text = TextAreaField("Document footer", validators=[Length(max=1000)])
    reply_to = EmailField("Reply-to address for e-mails", filters=[strip],
                          validators=[Optional(), Email(check_deliverability=False),
                                      Length(max=254)])
    email_sender_name = StringField("Sender name for e-mails", filters=[strip],
                                    validators=[DataRequired(), Length(max=200)])
    # Checked by decoding the image (services.check_logo), not by its file name.
    logo = FileField("Logo (PNG or JPEG)")
    remove_logo = BooleanField("Remove the logo")

    def validate_primary_color(self, field: StringField) -> None:
        check(field, validation.color)


class MailServerForm(FlaskForm):
    """Settings → E-mail sending. Checked in ``mail_servers`` (one place, with the test)."""

    host = StringField("Server (host name)", filters=[strip])
    port = StringField("Port", filters=[strip], render_kw={"inputmode": "numeric"})
    security = SelectField("Encryption", choices=choices([
        ("starttls", "STARTTLS (usually port 587)"),
        ("ssl", "SSL/TLS from the start (usually port 465)"),
        ("none", "None (a relay on your own network, port 25)"),
    ]))
    username = StringField("User name", filters=[strip], render_kw={"autocomplete": "off"})
    # Write-only: never sent back to the browser, not even on error; not the browser's to
    # fill in ("new-password": not a sign-in to this site).
    password = PasswordField("Password", render_kw={"autocomplete": "new-password"})
    from_address = EmailField("From address", filters=[strip])
