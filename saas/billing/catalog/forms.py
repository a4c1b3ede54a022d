"""Forms of the catalog: products, VAT rates, categories, price lists, price rules, rates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import g
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, DecimalField, Field, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import TextInput

from saas.billing.catalog.models import Product, ProductCategory, VatCategory, VatRate
from saas.billing.catalog.services import plain_decimal
from saas.billing.customers.models import Customer, CustomerCategory
from saas.extensions import db
from saas.forms import choices, currency_choices, strip

NONE_CHOICE = SelectChoice("", "—")
# Customers and products offered in a select; more would make the page heavy.
PICKER_LIMIT = 500
# The largest values the columns hold (saas.columns: MONEY, QUANTITY, RATE).
MONEY_LIMIT = Decimal("1e14")
QUANTITY_LIMIT = Decimal("1e10")
RATE_LIMIT = Decimal("1e10")



class DecimalText(DecimalField):
    """An exact decimal typed in a text box: no float, no exponent, a dot for decimals."""

    widget = TextInput()

    def __init__(self, label: str, validators: list[Any] | None = None, *,
                 min_places: int = 0, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, places=None, **kwargs)
        self.min_places = min_places

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = "".join(str(valuelist[0]).split())  # "1 250.50": spaces group thousands
        self.data = None
        if not text:
            return
        if "," in text:
            # "1,5" means 1.5 in most of Europe and "1,500" means 1500 in English: refuse
            # to guess with money.
            raise ValueError("Use a dot for decimals and no thousands separator (1250.50).")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError("Not a number.") from None
        if not value.is_finite() or "e" in text.lower():
            raise ValueError("Not a number.")
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else plain_decimal(self.data, self.min_places)


def max_decimals(places: int) -> Callable[[FlaskForm, Field], None]:
    """Refuse more decimals than the column keeps (trailing zeros do not count)."""

    def check(form: FlaskForm, field: Field) -> None:
        if field.data is not None and -field.data.normalize().as_tuple().exponent > places:
            raise ValidationError(f"Use at most {places} decimals.")

    return check


def above_zero(message: str) -> Callable[[FlaskForm, Field], None]:
    def check(form: FlaskForm, field: Field) -> None:
        if field.data is not None and field.data <= 0:
            raise ValidationError(message)

    return check


def money_field(label: str, required: bool = True) -> DecimalText:
    return DecimalText(label, [
        InputRequired() if required else Optional(),
        max_decimals(4),
        NumberRange(min=0, message="A price cannot be negative."),
        NumberRange(max=MONEY_LIMIT, message="That is more than the catalog can hold."),
    ], min_places=2)


def rate_field(label: str, required: bool = True) -> DecimalText:
    return DecimalText(label, [
        InputRequired() if required else Optional(),
        max_decimals(8),
        above_zero("The rate must be above 0."),
        NumberRange(max=RATE_LIMIT, message="That rate is too large."),
    ])


def percent_field(label: str) -> DecimalText:
    return DecimalText(label, [
        InputRequired(), max_decimals(2), NumberRange(min=0, max=100, message="Use 0 to 100 %%."),
    ])


def quantity_field(label: str, message: str) -> DecimalText:
    return DecimalText(label, [
        Optional(), max_decimals(4), above_zero(message),
        NumberRange(max=QUANTITY_LIMIT, message="That quantity is too large."),
    ])


def text_field(label: str, max_length: int, required: bool = True) -> StringField:
    return StringField(label, filters=[strip],
                       validators=[DataRequired() if required else Optional(),
                                   Length(max=max_length)])


# Ids are PostgreSQL integers: a larger number typed into a select (or a probe) names no
# object, and would make the look-up of "the one already chosen" fail in the database.
MAX_ID = 2**31 - 1


def optional_id(value: object) -> int | None:
    """A select's object id, or None for "none chosen"; an impossible id is not a choice."""
    if value in (None, "", "None"):
        return None
    number = int(value)  # ValueError: the field says "Invalid Choice: could not coerce."
    if not 0 < number <= MAX_ID:
        raise ValueError("not an id")
    return number


def optional_code(value: object) -> str | None:
    return str(value) if value not in (None, "", "None") else None


def id_field(label: str, required_message: str | None = None) -> SelectField:
    """A select of objects by id; required when a message for a missing choice is given."""
    required = DataRequired(message=required_message) if required_message else Optional()
    return SelectField(label, coerce=optional_id, validators=[required])


def currency_field(label: str = "Currency") -> SelectField:
    return SelectField(label, choices=currency_choices())


def _tenant_currency() -> str:
    tenant = g.get("tenant")
    return tenant.default_currency if tenant is not None else "EUR"


def product_choices(current_id: int | None = None) -> list[SelectChoice]:
    """List active products by name (and the one already chosen, even if archived)."""
    products = db.session.scalars(
        select(Product).where(Product.is_archived == False)  # noqa: E712 - SQL
        .order_by(Product.name, Product.id).limit(PICKER_LIMIT)
    ).all()
    if current_id is not None and current_id not in {p.id for p in products}:
        current = db.session.get(Product, current_id)
        products = [current, *products] if current is not None else products
    return [NONE_CHOICE, *(SelectChoice(str(p.id), f"{p.name} ({p.sku})") for p in products)]


def customer_choices(current_id: int | None = None) -> list[SelectChoice]:
    """List active customers by name (and the one already chosen, even if archived)."""
    customers = db.session.scalars(
        select(Customer).where(Customer.is_archived == False)  # noqa: E712 - SQL
        .order_by(Customer.name, Customer.id).limit(PICKER_LIMIT)
    ).all()
    if current_id is not None and current_id not in {c.id for c in customers}:
        current = db.session.get(Customer, current_id)
        customers = [current, *customers] if current is not None else customers
    return [NONE_CHOICE,
            *(SelectChoice(str(c.id), f"{c.name} ({c.number})") for c in customers)]


def category_choices(model: type[ProductCategory] | type[CustomerCategory]) -> list[SelectChoice]:
    categories = db.session.scalars(select(model).order_by(model.name))
    return [NONE_CHOICE, *(SelectChoice(str(c.id), c.name) for c in categories)]


def vat_rate_choices(current_id: int | None = None) -> list[SelectChoice]:
    """List the VAT rates in use (and the one already chosen, even if archived)."""
    rates = db.session.scalars(select(VatRate).order_by(VatRate.rate.desc(), VatRate.code))
    return [NONE_CHOICE, *(
        SelectChoice(str(r.id), f"{r.code} · {r.name} ({plain_decimal(r.rate)} %)")
        for r in rates if not r.is_archived or r.id == current_id
    )]


# --- forms ---------------------------------------------------------------------------------


class CatalogForm(FlaskForm):
    """A form whose values() hand the services what was entered, by field name."""

    def values(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items()
                if name != "csrf_token"}


class ProductForm(CatalogForm):
    sku = text_field("SKU", 60)
    name = text_field("Name", 200)
    description = TextAreaField("Description", filters=[strip], validators=[Length(max=5000)])
    unit = text_field("Unit", 20)
    category_id = id_field("Category")
    vat_rate_id = id_field("VAT rate", "Choose a VAT rate.")
    base_price = money_field("Base price")
    currency = currency_field()
    cost_price = money_field("Cost price", required=False)
    quantity_increment = quantity_field(
        "Bill by started", "Use an increment above 0, e.g. 1 or 0.25.")
    minimum_quantity = quantity_field(
        "Minimum billed quantity", "Use a minimum above 0, or leave it empty.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        obj = kwargs.get("obj")
        if obj is None:
            kwargs.setdefault("unit", "pcs")
            kwargs.setdefault("currency", _tenant_currency())
        super().__init__(*args, **kwargs)
        self.category_id.choices = category_choices(ProductCategory)
        self.vat_rate_id.choices = vat_rate_choices(obj.vat_rate_id if obj else None)


class VatRateForm(CatalogForm):
    code = text_field("Code", 20)
    name = text_field("Name", 100)
    rate = percent_field("Rate %")
    category = SelectField("Category", choices=choices((c.value, c.label) for c in VatCategory),
                           default=VatCategory.STANDARD.value)
    note = text_field("Note on invoices", 300, required=False)

    def values(self) -> dict[str, Any]:
        data = super().values()
        data["category"] = VatCategory(data["category"])
        data["note"] = data["note"] or ""
        return data


class CategoryForm(CatalogForm):
    name = text_field("Name", 100)


class PriceListForm(CatalogForm):
    name = text_field("Name", 100)
    currency = currency_field()
    valid_from = DateField("Valid from", validators=[Optional()])
    valid_to = DateField("Valid to", validators=[Optional()])
    custom_rate = rate_field("Custom exchange rate", required=False)
    custom_rate_currency = SelectField(
        "Converts to", coerce=optional_code, choices=[NONE_CHOICE, *currency_choices()],
        default="",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("obj") is None:
            kwargs.setdefault("currency", _tenant_currency())
        super().__init__(*args, **kwargs)


class PriceListItemForm(CatalogForm):
    product_id = id_field("Product", "Choose a product.")
    price = money_field("Price")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        obj = kwargs.get("obj")
        super().__init__(*args, **kwargs)
        self.product_id.choices = product_choices(obj.product_id if obj else None)


class CustomerPriceForm(CatalogForm):
    customer_id = id_field("Customer", "Choose a customer.")
    product_id = id_field("Product", "Choose a product.")
    price = money_field("Price")
    currency = currency_field()
    valid_from = DateField("Valid from", validators=[Optional()])
    valid_to = DateField("Valid to", validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        obj = kwargs.get("obj")
        if obj is None:
            kwargs.setdefault("currency", _tenant_currency())
        super().__init__(*args, **kwargs)
        self.customer_id.choices = customer_choices(obj.customer_id if obj else None)
        self.product_id.choices = product_choices(obj.product_id if obj else None)


class CategoryDiscountForm(CatalogForm):
    customer_category_id = id_field("Customer category", "Choose a customer category.")
    product_category_id = id_field("Product category", "Choose a product category.")
    percent = percent_field("Discount %")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_category_id.choices = category_choices(CustomerCategory)
        self.product_category_id.choices = category_choices(ProductCategory)


class ExchangeRateForm(CatalogForm):
    base_currency = currency_field("From")
    quote_currency = currency_field("To")
    valid_on = DateField("Date", validators=[InputRequired()], default=date.today)
    rate = rate_field("Rate")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        home = _tenant_currency()
        kwargs.setdefault("base_currency", "EUR" if home != "EUR" else "USD")
        kwargs.setdefault("quote_currency", home)
        super().__init__(*args, **kwargs)
