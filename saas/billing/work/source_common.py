"""What the services of the work sources share: their error and their numbering."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from saas.billing.customers.models import Customer, Site
from saas.extensions import db
from saas.tenants.services import ServiceError


class SourceError(ServiceError):
    """A refused change, with the form field it concerns.

    The views catch ``ServiceError``: this, and the refusals of the billable items and
    documents the sources call, which carry a ``field`` the same way.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def next_number(model: Any, prefix: str) -> str:
    """The next free number of a tenant's series of protocols, cards or statements."""
    count = db.session.scalar(select(func.count()).select_from(model)) or 0
    while True:
        count += 1
        number = f"{prefix}-{count:04}"
        if not db.session.scalar(select(model.id).where(model.number == number)):
            return number


def own_customer(customer_id: int | None, field: str = "customer_id") -> Customer:
    """The current tenant's active customer, or a refusal on the field."""
    customer = db.session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        raise SourceError("Choose one of your customers.", field)
    if customer.is_archived:
        raise SourceError(f"{customer.name} is archived.", field)
    return customer


def own_site(customer: Customer, site_id: int | None, field: str = "site_id") -> Site | None:
    """The customer's site, none when not given, or a refusal on the field."""
    if not site_id:
        return None
    site = db.session.get(Site, site_id)
    if site is None or site.customer_id != customer.id:
        raise SourceError(f"Choose a site of {customer.name}.", field)
    return site
