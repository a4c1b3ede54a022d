"""Forms of the customer register."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from saas.billing.catalog.forms import DecimalText, optional_id
from saas.billing.catalog.models import PriceList, Product
from saas.billing.customers.models import CustomerCategory, DeliveryPreference
from saas.extensions import db
from saas.forms import (
    LANGUAGES,
    IntegerField,
    check,
    choices,
    country_choices,
    currency_choices,
    strip,
)
from saas.tenants import validation

NONE_CHOICE = SelectChoice("", "—")


def _text(label: str, max_length: int = 200, required: bool = False) -> StringField:
    validators = [DataRequired()] if required else [Optional()]
    return StringField(label, filters=[strip], validators=[*validators, Length(max=max_length)])


class CustomerForm(FlaskForm):
    name = _text("Name", required=True)
    org_number = _text("Organisation number", 40)
    vat_id = _text("VAT id", 40)
    country = SelectField("Country", choices=country_choices(), default="NO")
    address_line1 = _text("Address")
    address_line2 = _text("Address, line 2")
    postal_code = _text("Postal code", 20)
    city = _text("City", 100)
    delivery_address_line1 = _text("Delivery address")
    delivery_address_line2 = _text("Delivery address, line 2")
    delivery_postal_code = _text("Delivery postal code", 20)
    delivery_city = _text("Delivery city", 100)
    delivery_country = SelectField(
        "Delivery country", choices=[NONE_CHOICE, *country_choices()], default=""
    )
    language = SelectField("Language", choices=choices(LANGUAGES.items()), default="en")
    currency = SelectField("Currency", choices=currency_choices())
    payment_terms_days = IntegerField(
        "Payment terms (days)", default=14,
        validators=[DataRequired(message="Give the payment terms in days."),
                    NumberRange(min=0, max=365, message="Use 0 to 365 days.")],
    )
    category_id = SelectField("Category", coerce=optional_id)
    price_list_id = SelectField("Price list", coerce=optional_id)
    discount_percent = DecimalText(
        "Discount %", default=Decimal("0"),
        validators=[Optional(), NumberRange(min=0, max=100, message="Use 0 to 100 %%.")],
    )
    delivery_preference = SelectField(
        "Send documents by",
        choices=choices((p.value, p.label) for p in DeliveryPreference),
        default=DeliveryPreference.EMAIL.value,
    )
    region = _text("Region", 100)
    tags = _text("Tags", 500)
    notes = TextAreaField("Notes", validators=[Length(max=5000)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        categories = db.session.scalars(select(CustomerCategory).order_by(CustomerCategory.name))
        self.category_id.choices = [NONE_CHOICE, *(SelectChoice(str(c.id), c.name)
                                                  for c in categories)]
        price_lists = db.session.scalars(select(PriceList).order_by(PriceList.name))
        self.price_list_id.choices = [
            NONE_CHOICE,
            *(SelectChoice(str(p.id), f"{p.name} ({p.currency})") for p in price_lists),
        ]

    def validate_vat_id(self, field: StringField) -> None:
        if field.data:
            check(field, validation.vat_id, self.country.data)

    def validate_org_number(self, field: StringField) -> None:
        if field.data:
            check(field, validation.org_number, self.country.data)

    def validate_discount_percent(self, field: DecimalText) -> None:
        if field.data is not None and field.data.as_tuple().exponent < -2:
            raise ValidationError("Use at most 2 decimals.")

    def values(self) -> dict[str, object]:
        data = {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
        data["discount_percent"] = data["discount_percent"] or Decimal("0")
        data["notes"] = data["notes"] or ""
        # Lower case, each once: rules compare tags without case.
        tags = (tag.strip().casefold() for tag in (data["tags"] or "").split(","))
        data["tags"] = ", ".join(dict.fromkeys(tag for tag in tags if tag))
        data["delivery_preference"] = DeliveryPreference(data["delivery_preference"])
        for name in ("org_number", "vat_id", "address_line1", "address_line2", "postal_code",
                     "city", "delivery_address_line1", "delivery_address_line2",
                     "delivery_postal_code", "delivery_city", "delivery_country", "region"):
            data[name] = data[name] or ""
        return data


class ContactForm(FlaskForm):
    name = _text("Name", required=True)
    email = EmailField("E-mail", filters=[strip],
                       validators=[Optional(), Email(check_deliverability=False), Length(max=254)])
    phone = _text("Phone", 40)
    receives_invoices = BooleanField("Receives invoices")
    portal_access = BooleanField("May use the portal")

    def validate_receives_invoices(self, field: BooleanField) -> None:
        if field.data and not self.email.data:
            raise ValidationError("Invoices go by e-mail: give an e-mail address.")

    def validate_portal_access(self, field: BooleanField) -> None:
        if field.data and not self.email.data:
            raise ValidationError("Portal links go by e-mail: give an e-mail address.")

    def values(self) -> dict[str, object]:
        return {"name": self.name.data, "email": (self.email.data or "").lower(),
                "phone": self.phone.data or "", "receives_invoices": self.receives_invoices.data,
                "portal_access": self.portal_access.data}


class SiteForm(FlaskForm):
    code = _text("Code", 40, required=True)
    name = _text("Name", required=True)
    address_line1 = _text("Address")
    postal_code = _text("Postal code", 20)
    city = _text("City", 100)
    country = SelectField("Country", choices=[NONE_CHOICE, *country_choices()], default="")
    active_from = DateField("Active from", validators=[Optional()])
    active_to = DateField("Active to", validators=[Optional()])

    def validate_active_to(self, field: DateField) -> None:
        if field.data and self.active_from.data and field.data < self.active_from.data:
            raise ValidationError("The end is before the start.")

    def values(self) -> dict[str, object]:
        data = {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
        for name in ("address_line1", "postal_code", "city", "country"):
            data[name] = data[name] or ""
        return data


class PriceCheckForm(FlaskForm):
    """Ask the pricing engine what a customer pays (no state change: no CSRF token)."""

    product_id = SelectField("Product", coerce=optional_id,
                             validators=[DataRequired(message="Choose a product.")])
    quantity = DecimalText("Quantity", default=Decimal("1"),
                            validators=[DataRequired(message="Give a quantity."),
                                        NumberRange(min=0, message="Use 0 or more.")])
    on = DateField("Date", default=date.today, validators=[DataRequired()])
    currency = SelectField("Currency", choices=[NONE_CHOICE, *currency_choices()], default="")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        products = db.session.scalars(
            select(Product).where(Product.is_archived.is_(False)).order_by(Product.name).limit(500)
        )
        self.product_id.choices = [
            NONE_CHOICE, *(SelectChoice(str(p.id), f"{p.name} ({p.sku})") for p in products)
        ]
