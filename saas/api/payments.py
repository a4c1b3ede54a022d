"""Payments received: list, read, record (optionally settling invoices)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from saas.api.errors import ApiError, not_found
from saas.api.pagination import page
from saas.api.registry import PATH_MODELS, operation
from saas.api.schemas import (
    DecimalOut,
    Id,
    ListQuery,
    Money,
    RequestModel,
    ResponseModel,
    page_of,
    text,
)
from saas.api.views import bp
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.payments import services
from saas.billing.payments.models import Payment, PaymentMethod
from saas.extensions import db
from saas.forms import CURRENCY_CODES

Method = Literal["bank", "card", "cash", "offset"]
CurrencyCode = Literal[tuple(CURRENCY_CODES)]  # type: ignore[valid-type]
TAG = "payments"
PATH_MODELS["payment_id"] = Payment


class AllocationOut(ResponseModel):
    id: int
    invoice_id: int
    amount: DecimalOut
    allocated_on: date
    reversed_at: datetime | None


class PaymentOut(ResponseModel):
    id: int
    customer_id: int
    kind: str
    received_on: date
    amount: DecimalOut
    currency: str
    method: str
    reference: str
    note: str
    created_at: datetime
    reversed_at: datetime | None
    allocations: list[AllocationOut]


class AllocationIn(RequestModel):
    invoice_id: Id
    amount: Money


class PaymentIn(RequestModel):
    customer_id: Id
    amount: Money
    received_on: date
    currency: CurrencyCode | None = Field(None, description="Left out: the customer's.")
    method: Method = PaymentMethod.BANK.value
    reference: text(140) = ""
    note: text(5000) = ""
    allocations: list[AllocationIn] = Field(
        default_factory=list, max_length=200,
        description="Invoices it settles and by how much; the rest is the customer's credit.")


class PaymentQuery(ListQuery):
    customer_id: Id | None = None


def _with_allocations(statement: Any) -> Any:
    return statement.options(selectinload(Payment.allocations))


@operation(bp, "GET", "/payments", summary="List payments", tag=TAG, query=PaymentQuery,
           response=page_of(PaymentOut))
def list_payments(query: PaymentQuery) -> dict[str, Any]:
    statement = _with_allocations(select(Payment))
    if query.customer_id:
        statement = statement.where(Payment.customer_id == query.customer_id)
    return page(statement, Payment.id, query)


@operation(bp, "GET", "/payments/<int:payment_id>", summary="Get a payment", tag=TAG,
           response=PaymentOut)
def get_payment(payment_id: int) -> Payment:
    payment = db.session.scalar(_with_allocations(select(Payment).where(
        Payment.id == payment_id)))
    if payment is None:
        raise not_found("payment")
    return payment


@operation(bp, "POST", "/payments", summary="Record a payment received", tag=TAG,
           body=PaymentIn, response=PaymentOut, status=201)
def record_payment(body: PaymentIn) -> Payment:
    customer = db.session.get(Customer, body.customer_id)
    problems = [] if customer else [{"field": "customer_id",
                                     "message": "No such customer in this company."}]
    allocations = []
    for index, part in enumerate(body.allocations):
        invoice = db.session.get(Document, part.invoice_id)
        if invoice is None:
            problems.append({"field": f"allocations.{index}.invoice_id",
                             "message": "No such invoice in this company."})
        allocations.append((invoice, part.amount))
    if problems:
        raise ApiError(422, "validation_failed", "Some fields are not valid.", problems)
    return services.record_payment(
        customer, body.amount, body.received_on, method=body.method, currency=body.currency,
        reference=body.reference, note=body.note, allocations=allocations)
