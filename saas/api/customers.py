"""Customers with their sites and contacts: list, read, register, change."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import EmailStr, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from saas.api.errors import ApiError, not_found
from saas.api.pagination import page
from saas.api.registry import PATH_MODELS, operation
from saas.api.schemas import (
    DecimalOut,
    Id,
    ListQuery,
    Percent,
    RequestModel,
    ResponseModel,
    page_of,
    text,
)
from saas.api.views import bp
from saas.billing.catalog.models import PriceList
from saas.billing.customers import services
from saas.billing.customers.models import (
    Contact,
    Customer,
    CustomerCategory,
    DeliveryPreference,
    Site,
)
from saas.extensions import db
from saas.forms import COUNTRY_CODES, CURRENCY_CODES, LANGUAGES
from saas.tenants import validation

CountryCode = Literal[tuple(COUNTRY_CODES)]  # type: ignore[valid-type]
CurrencyCode = Literal[tuple(CURRENCY_CODES)]  # type: ignore[valid-type]
Language = Literal[tuple(LANGUAGES)]  # type: ignore[valid-type]
Preference = Literal[tuple(p.value for p in DeliveryPreference)]  # type: ignore[valid-type]
TAG = "customers"
PATH_MODELS["customer_id"] = Customer


# --- models ------------------------------------------------------------------------------


class ContactOut(ResponseModel):
    id: int
    name: str
    email: str
    phone: str
    receives_invoices: bool
    portal_access: bool


class SiteOut(ResponseModel):
    id: int
    code: str
    name: str
    address_line1: str
    postal_code: str
    city: str
    country: str
    active_from: date | None
    active_to: date | None


class CustomerOut(ResponseModel):
    id: int
    number: int
    name: str
    org_number: str
    vat_id: str
    country: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    language: str
    currency: str
    payment_terms_days: int
    category_id: int | None
    price_list_id: int | None
    discount_percent: DecimalOut
    delivery_preference: str
    region: str
    notes: str
    is_archived: bool
    created_at: datetime
    sites: list[SiteOut]
    contacts: list[ContactOut]


class ContactIn(RequestModel):
    name: text(200, 1)
    email: EmailStr | Literal[""] = ""
    phone: text(40) = ""
    receives_invoices: bool = False
    portal_access: bool = False

    @model_validator(mode="after")
    def _email_for_invoices(self) -> ContactIn:
        if (self.receives_invoices or self.portal_access) and not self.email:
            raise ValueError("Invoices and portal links go by e-mail: give an e-mail address.")
        return self


class SiteIn(RequestModel):
    code: text(40, 1)
    name: text(200, 1)
    address_line1: text(200) = ""
    postal_code: text(20) = ""
    city: text(100) = ""
    country: CountryCode | Literal[""] = ""
    active_from: date | None = None
    active_to: date | None = None

    @model_validator(mode="after")
    def _period(self) -> SiteIn:
        if self.active_from and self.active_to and self.active_to < self.active_from:
            raise ValueError("active_to is before active_from.")
        return self


class CustomerFields(RequestModel):
    org_number: text(40) = ""
    vat_id: text(40) = ""
    address_line1: text(200) = ""
    address_line2: text(200) = ""
    postal_code: text(20) = ""
    city: text(100) = ""
    language: Language = "en"
    payment_terms_days: int = Field(14, ge=0, le=365)
    category_id: Id | None = None
    price_list_id: Id | None = None
    discount_percent: Percent = Decimal("0")
    delivery_preference: Preference = DeliveryPreference.EMAIL.value
    region: text(100) = ""
    notes: text(5000) = ""


class CustomerIn(CustomerFields):
    name: text(200, 1)
    country: CountryCode
    currency: CurrencyCode
    sites: list[SiteIn] = Field(default_factory=list, max_length=100)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=100)


class CustomerUpdate(RequestModel):
    """Only the fields sent are changed."""

    name: text(200, 1) | None = None
    org_number: text(40) | None = None
    vat_id: text(40) | None = None
    country: CountryCode | None = None
    address_line1: text(200) | None = None
    address_line2: text(200) | None = None
    postal_code: text(20) | None = None
    city: text(100) | None = None
    language: Language | None = None
    currency: CurrencyCode | None = None
    payment_terms_days: int | None = Field(None, ge=0, le=365)
    category_id: Id | None = None
    price_list_id: Id | None = None
    discount_percent: Percent | None = None
    delivery_preference: Preference | None = None
    region: text(100) | None = None
    notes: text(5000) | None = None


class CustomerQuery(ListQuery):
    include_archived: bool = False


# --- views -------------------------------------------------------------------------------


def customer_or_404(customer_id: int, *, load: bool = False) -> Customer:
    statement = select(Customer).where(Customer.id == customer_id)
    if load:
        statement = statement.options(selectinload(Customer.sites),
                                      selectinload(Customer.contacts))
    customer = db.session.scalar(statement)
    if customer is None:
        raise not_found("customer")
    return customer


def _loaded(customers: list[Customer]) -> None:
    """Sites and contacts of a page of customers, in two queries."""
    if not customers:
        return
    db.session.scalars(select(Customer).where(Customer.id.in_([c.id for c in customers]))
                       .options(selectinload(Customer.sites),
                                selectinload(Customer.contacts))).all()


@operation(bp, "GET", "/customers", summary="List customers", tag=TAG,
           query=CustomerQuery, response=page_of(CustomerOut))
def list_customers(query: CustomerQuery) -> dict[str, Any]:
    statement = select(Customer)
    if not query.include_archived:
        statement = statement.where(Customer.is_archived.is_(False))
    return page(statement, Customer.id, query, _loaded)


@operation(bp, "GET", "/customers/<int:customer_id>", summary="Get a customer", tag=TAG,
           response=CustomerOut)
def get_customer(customer_id: int) -> Customer:
    return customer_or_404(customer_id, load=True)


def _checked(values: dict[str, Any], country: str) -> dict[str, Any]:
    """Check what needs the company's data or the country; 422 naming the field."""
    problems = []
    for name, check in (("vat_id", validation.vat_id), ("org_number", validation.org_number)):
        if values.get(name):
            try:
                values[name] = check(values[name], country)
            except ValueError as exc:
                problems.append({"field": name, "message": str(exc)})
    for name, model in (("category_id", CustomerCategory), ("price_list_id", PriceList)):
        if values.get(name) is not None and db.session.get(model, values[name]) is None:
            problems.append({"field": name, "message": "No such object in this company."})
    if "delivery_preference" in values and values["delivery_preference"] is not None:
        values["delivery_preference"] = DeliveryPreference(values["delivery_preference"])
    if problems:
        raise ApiError(422, "validation_failed", "Some fields are not valid.", problems)
    return values


@operation(bp, "POST", "/customers", summary="Register a customer (with sites and contacts)",
           tag=TAG, body=CustomerIn, response=CustomerOut, status=201)
def create_customer(body: CustomerIn) -> Customer:
    values = _checked(body.model_dump(exclude={"sites", "contacts"}), body.country)
    customer = services.create_customer(values)
    for site in body.sites:
        services.add_site(customer, site.model_dump(), index=False)
    for contact in body.contacts:
        services.add_contact(customer, contact.model_dump(), index=False)
    services.refresh_search_text(customer)
    return customer


@operation(bp, "PATCH", "/customers/<int:customer_id>", summary="Change a customer", tag=TAG,
           body=CustomerUpdate, response=CustomerOut)
def update_customer(customer_id: int, body: CustomerUpdate) -> Customer:
    customer = customer_or_404(customer_id, load=True)
    values = body.model_dump(exclude_unset=True)
    for name in ("name", "country", "currency", "language", "payment_terms_days",
                 "discount_percent", "delivery_preference"):
        if name in values and values[name] is None:
            raise ApiError(422, "validation_failed", "Some fields are not valid.",
                           [{"field": name, "message": "Cannot be null."}])
    for name in ("org_number", "vat_id", "address_line1", "address_line2", "postal_code",
                 "city", "region", "notes"):
        if name in values and values[name] is None:
            values[name] = ""
    services.update_customer(customer, _checked(values, values.get("country")
                                                or customer.country))
    return customer


@operation(bp, "POST", "/customers/<int:customer_id>/sites", summary="Add a site", tag=TAG,
           body=SiteIn, response=SiteOut, status=201)
def add_site(customer_id: int, body: SiteIn) -> Site:
    return services.add_site(customer_or_404(customer_id), body.model_dump())


@operation(bp, "POST", "/customers/<int:customer_id>/contacts", summary="Add a contact",
           tag=TAG, body=ContactIn, response=ContactOut, status=201)
def add_contact(customer_id: int, body: ContactIn) -> Contact:
    return services.add_contact(customer_or_404(customer_id), body.model_dump())
