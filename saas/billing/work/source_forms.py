"""Forms of the work sources: protocols, guarded sites, CIT cards, payables and netting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from saas.billing.catalog.forms import (
    NONE_CHOICE,
    CatalogForm,
    DecimalText,
    customer_choices,
    id_field,
    max_decimals,
    money_field,
    optional_id,
    product_choices,
    quantity_field,
    text_field,
)
from saas.billing.catalog.models import PriceList
from saas.billing.customers.models import Customer, Site
from saas.billing.work.guarding_rules import GuardingMode
from saas.billing.work.payable_models import SupplierTerms
from saas.billing.work.source_models import CitServiceKind
from saas.extensions import db
from saas.forms import choices, strip


def site_choices(customer_id: int | None = None) -> list[SelectChoice]:
    """Sites (of one customer, or of all with the customer's name)."""
    statement = select(Site, Customer.name).join(Customer, Site.customer_id == Customer.id)
    if customer_id:
        statement = statement.where(Site.customer_id == customer_id)
    rows = db.session.execute(statement.order_by(Site.code)).all()
    return [
        NONE_CHOICE,
        *(SelectChoice(str(site.id), f"{site.code} {site.name} · {name}") for site, name in rows),
    ]


def supplier_choices(partners_only: bool = False) -> list[SelectChoice]:
    statement = select(Customer).join(SupplierTerms, SupplierTerms.customer_id == Customer.id)
    if partners_only:
        statement = statement.where(SupplierTerms.is_partner.is_(True))
    return [
        NONE_CHOICE,
        *(
            SelectChoice(str(c.id), c.name)
            for c in db.session.scalars(statement.order_by(Customer.name))
        ),
    ]


def hours_field(label: str) -> DecimalText:
    return DecimalText(label, [Optional(), max_decimals(2)])


class ProtocolForm(CatalogForm):
    customer_id = id_field("Customer", "Choose the customer.")
    site_id = id_field("Site")
    performed_on = DateField("Work done on", validators=[InputRequired()])
    technician = text_field("Technician", 200, required=False)
    work_done = TextAreaField("Work done", filters=[strip], validators=[Length(max=5000)])
    hours = hours_field("Hours")
    labour_product_id = id_field("Hours billed as")
    billable = BooleanField("Billable", default=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_id.choices = customer_choices(optional_id(self.customer_id.data))
        self.site_id.choices = site_choices()
        self.labour_product_id.choices = product_choices(optional_id(self.labour_product_id.data))


class MaterialForm(CatalogForm):
    product_id = id_field("Material", "Choose the material used.")
    quantity = quantity_field("Quantity", "The quantity must be above 0.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product_id.choices = product_choices(optional_id(self.product_id.data))


class GuardedSiteForm(CatalogForm):
    site_id = id_field("Site", "Choose the site.")
    mode = SelectField("Billed", choices=choices((m.value, m.label) for m in GuardingMode))
    product_id = id_field("Billed as product", "Choose the product.")
    hourly_rate = money_field("Hourly rate (blank: the price list's)", required=False)
    lump_sum = money_field("Lump sum a month", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site_id.choices = site_choices()
        self.product_id.choices = product_choices(optional_id(self.product_id.data))


class CardForm(CatalogForm):
    customer_id = id_field("Customer", "Choose the customer.")
    served_on = DateField("Day of the run", validators=[InputRequired()])
    crew = text_field("Crew", 200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_id.choices = customer_choices(optional_id(self.customer_id.data))


class CitServiceForm(CatalogForm):
    kind = SelectField("Service", choices=choices((k.value, k.label) for k in CitServiceKind))
    product_id = id_field("Priced as", "Choose the service's product.")
    site_id = id_field("Site")
    place = text_field("Place", 200, required=False)
    seal = text_field("Seal number", 60, required=False)

    def __init__(self, *args: Any, customer_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product_id.choices = product_choices(optional_id(self.product_id.data))
        self.site_id.choices = site_choices(customer_id)


class SupplierForm(CatalogForm):
    customer_id = id_field("Customer", "Choose the customer who supplies you.")
    price_list_id = id_field("Their price list")
    is_partner = BooleanField("Partner agency: net the services given and received")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_id.choices = customer_choices(optional_id(self.customer_id.data))
        lists = db.session.scalars(select(PriceList).order_by(PriceList.name))
        self.price_list_id.choices = [
            NONE_CHOICE,
            *(SelectChoice(str(p.id), p.name) for p in lists),
        ]


class PayableForm(CatalogForm):
    supplier_id = id_field("Supplier", "Choose the supplier.")
    occurred_on = DateField("Service on", validators=[InputRequired()])
    product_id = id_field("Service")
    description = text_field("Description (blank: the product's name)", 500, required=False)
    quantity = quantity_field("Quantity", "The quantity must be above 0.")
    unit_price = money_field("Price (blank: the supplier's price list)", required=False)
    customer_id = id_field("For customer")
    project_id = id_field("For project")

    def __init__(
        self, *args: Any, projects: list[SelectChoice] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.supplier_id.choices = supplier_choices()
        self.product_id.choices = product_choices(optional_id(self.product_id.data))
        self.customer_id.choices = customer_choices(optional_id(self.customer_id.data))
        self.project_id.choices = [NONE_CHOICE, *(projects or [])]


class NettingForm(CatalogForm):
    partner_id = id_field("Partner agency", "Choose the partner.")
    start = DateField("From", validators=[InputRequired()])
    end = DateField("To", validators=[InputRequired()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.partner_id.choices = supplier_choices(partners_only=True)
