"""Billable items (R5.8): list, read, capture from another application."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select

from saas.api.errors import ApiError, not_found
from saas.api.pagination import page
from saas.api.registry import PATH_MODELS, operation
from saas.api.schemas import (
    DecimalOut,
    Id,
    ListQuery,
    Money,
    Quantity,
    RequestModel,
    ResponseModel,
    page_of,
    text,
)
from saas.api.views import bp
from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer, Site
from saas.billing.work import items
from saas.billing.work.models import BillableItem, ItemStatus
from saas.extensions import db

Event = Literal[tuple(items.EVENTS)]  # type: ignore[valid-type]
Status = Literal[tuple(s.value for s in ItemStatus)]  # type: ignore[valid-type]
SOURCE_TYPE = "api"  # what the API captures is known by the caller's own id
TAG = "billable items"
PATH_MODELS["billable_item_id"] = BillableItem


class BillableItemOut(ResponseModel):
    id: int
    customer_id: int
    site_id: int | None
    contract_id: int | None
    product_id: int
    source_type: str
    source_id: int | None
    event: str
    description: str
    occurred_on: date
    quantity: DecimalOut
    unit: str
    unit_price: DecimalOut
    currency: str
    status: Status
    document_line_id: int | None
    created_at: datetime


class BillableItemIn(RequestModel):
    external_id: Id = Field(description="Your id for the work: capturing it again updates the"
                                        " open item instead of adding one.")
    customer_id: Id
    product_id: Id
    quantity: Quantity
    occurred_on: date
    event: Event = "time_entry"
    description: text(2000) = ""
    site_id: Id | None = None
    unit_price: Money | None = Field(None, description="Left out: the customer's price.")


class CapturedOut(ResponseModel):
    data: list[BillableItemOut]


class ItemQuery(ListQuery):
    status: Status | None = None
    customer_id: Id | None = None


@operation(bp, "GET", "/billable-items", summary="List billable items", tag=TAG,
           query=ItemQuery, response=page_of(BillableItemOut))
def list_billable_items(query: ItemQuery) -> dict[str, Any]:
    statement = select(BillableItem)
    if query.status:
        statement = statement.where(BillableItem.status == ItemStatus(query.status))
    if query.customer_id:
        statement = statement.where(BillableItem.customer_id == query.customer_id)
    return page(statement, BillableItem.id, query)


@operation(bp, "GET", "/billable-items/<int:billable_item_id>", summary="Get a billable item",
           tag=TAG, response=BillableItemOut)
def get_billable_item(billable_item_id: int) -> BillableItem:
    item = db.session.get(BillableItem, billable_item_id)
    if item is None:
        raise not_found("billable item")
    return item


@operation(bp, "POST", "/billable-items", summary="Capture billable work", tag=TAG,
           body=BillableItemIn, response=CapturedOut, status=201)
def capture_billable_item(body: BillableItemIn) -> dict[str, Any]:
    found = {name: db.session.get(model, value) if value else None
             for name, model, value in (("customer_id", Customer, body.customer_id),
                                        ("product_id", Product, body.product_id),
                                        ("site_id", Site, body.site_id))}
    problems = [{"field": name, "message": "No such object in this company."}
                for name, obj in found.items()
                if obj is None and getattr(body, name) is not None]
    if problems:
        raise ApiError(422, "validation_failed", "Some fields are not valid.", problems)
    if body.quantity < 0:
        raise ApiError(422, "validation_failed", "Some fields are not valid.",
                       [{"field": "quantity", "message": "A quantity is 0 or more."}])
    captured = items.capture(
        event=body.event, customer=found["customer_id"], source_type=SOURCE_TYPE,
        source_id=body.external_id, occurred_on=body.occurred_on, quantity=body.quantity,
        site=found["site_id"], product=found["product_id"], description=body.description,
        unit_price=body.unit_price)
    return {"data": captured}
