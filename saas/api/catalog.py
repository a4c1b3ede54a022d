"""The catalog: VAT rates (read), products and price lists (list, read, add)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from saas.api.errors import not_found
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
from saas.billing.catalog import services
from saas.billing.catalog.models import PriceList, Product, VatRate
from saas.extensions import db
from saas.forms import CURRENCY_CODES

CurrencyCode = Literal[tuple(CURRENCY_CODES)]  # type: ignore[valid-type]
TAG = "catalog"
PATH_MODELS["product_id"] = Product
PATH_MODELS["price_list_id"] = PriceList


class VatRateOut(ResponseModel):
    id: int
    code: str
    name: str
    rate: DecimalOut
    category: str
    is_archived: bool


class ProductOut(ResponseModel):
    id: int
    sku: str
    name: str
    description: str
    unit: str
    category_id: int | None
    vat_rate_id: int
    base_price: DecimalOut
    currency: str
    cost_price: DecimalOut | None
    quantity_increment: DecimalOut | None
    minimum_quantity: DecimalOut | None
    is_archived: bool


class ProductIn(RequestModel):
    sku: text(60, 1)
    name: text(200, 1)
    description: text(5000) = ""
    unit: text(20) = "pcs"
    vat_rate_id: Id
    category_id: Id | None = None
    base_price: Money
    currency: CurrencyCode
    cost_price: Money | None = None
    quantity_increment: Quantity | None = Field(
        None, description="Bill by started increments (0.25: started quarters).")
    minimum_quantity: Quantity | None = None

    @model_validator(mode="after")
    def _positive_quantities(self) -> ProductIn:
        if self.quantity_increment is not None and self.quantity_increment <= 0:
            raise ValueError("quantity_increment is above 0.")
        if self.minimum_quantity is not None and self.minimum_quantity < 0:
            raise ValueError("minimum_quantity is 0 or more.")
        return self


class PriceListItemOut(ResponseModel):
    id: int
    product_id: int
    price: DecimalOut


class PriceListOut(ResponseModel):
    id: int
    name: str
    currency: str
    valid_from: date | None
    valid_to: date | None
    items: list[PriceListItemOut]


class PriceListItemIn(RequestModel):
    product_id: Id
    price: Money


class PriceListIn(RequestModel):
    name: text(100, 1)
    currency: CurrencyCode
    valid_from: date | None = None
    valid_to: date | None = None
    items: list[PriceListItemIn] = Field(default_factory=list, max_length=500)


class ProductQuery(ListQuery):
    include_archived: bool = False


@operation(bp, "GET", "/vat-rates", summary="List VAT rates", tag=TAG, query=ListQuery,
           response=page_of(VatRateOut))
def list_vat_rates(query: ListQuery) -> dict[str, Any]:
    return page(select(VatRate), VatRate.id, query)


@operation(bp, "GET", "/products", summary="List products", tag=TAG, query=ProductQuery,
           response=page_of(ProductOut))
def list_products(query: ProductQuery) -> dict[str, Any]:
    statement = select(Product)
    if not query.include_archived:
        statement = statement.where(Product.is_archived.is_(False))
    return page(statement, Product.id, query)


@operation(bp, "GET", "/products/<int:product_id>", summary="Get a product", tag=TAG,
           response=ProductOut)
def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise not_found("product")
    return product


@operation(bp, "POST", "/products", summary="Add a product", tag=TAG, body=ProductIn,
           response=ProductOut, status=201)
def create_product(body: ProductIn) -> Product:
    return services.create_product(body.model_dump())


@operation(bp, "GET", "/price-lists", summary="List price lists with their prices", tag=TAG,
           query=ListQuery, response=page_of(PriceListOut))
def list_price_lists(query: ListQuery) -> dict[str, Any]:
    return page(select(PriceList).options(selectinload(PriceList.items)), PriceList.id, query)


@operation(bp, "GET", "/price-lists/<int:price_list_id>", summary="Get a price list",
           tag=TAG, response=PriceListOut)
def get_price_list(price_list_id: int) -> PriceList:
    price_list = db.session.scalar(select(PriceList).where(PriceList.id == price_list_id)
                                   .options(selectinload(PriceList.items)))
    if price_list is None:
        raise not_found("price list")
    return price_list


@operation(bp, "POST", "/price-lists", summary="Add a price list with its prices", tag=TAG,
           body=PriceListIn, response=PriceListOut, status=201)
def create_price_list(body: PriceListIn) -> PriceList:
    price_list = services.create_price_list(body.model_dump(exclude={"items"}))
    for item in body.items:
        services.set_price_list_item(price_list, item.model_dump())
    return price_list
