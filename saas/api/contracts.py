"""Contracts (read) and billing runs (list, read, start)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import select

from saas.api.errors import ApiError, not_found
from saas.api.pagination import page
from saas.api.registry import PATH_MODELS, operation
from saas.api.schemas import (
    DecimalOut,
    Id,
    ListQuery,
    RequestModel,
    ResponseModel,
    page_of,
)
from saas.api.views import bp
from saas.billing.contracts import billing
from saas.billing.contracts.models import BillingRun, Contract, ContractLine, ContractType
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

TAG = "contracts"
PATH_MODELS["contract_id"] = Contract
PATH_MODELS["billing_run_id"] = BillingRun


class ContractLineOut(ResponseModel):
    id: int
    line_key: int
    effective_from: date
    removed: bool
    product_id: int | None
    description: str
    quantity: DecimalOut
    unit: str
    unit_price: DecimalOut | None
    discount_percent: DecimalOut
    site_id: int | None


class ContractOut(ResponseModel):
    id: int
    number: str
    customer_id: int
    contract_type_id: int | None
    title: str
    start_date: date
    end_date: date | None
    termination_date: date | None
    billing_period: str
    in_advance: bool
    billing_day: int
    currency: str
    payment_terms_days: int
    created_at: datetime
    lines: list[ContractLineOut] = Field(description="Every version of every line.")


class BillingRunOut(ResponseModel):
    id: int
    run_date: date
    contract_type_id: int | None
    consolidate: bool
    issue: bool
    status: str
    total: int
    done: int
    invoices: int
    error: str
    created_at: datetime
    finished_at: datetime | None


class BillingRunIn(RequestModel):
    run_date: date = Field(description="Bill the periods due as on this day.")
    contract_type_id: Id | None = None
    consolidate: bool | None = Field(None, description="One invoice per customer (left out:"
                                                       " the company's default).")
    issue: bool | None = Field(None, description="Issue the invoices, else drafts (left out:"
                                                 " the company's default).")


class ContractQuery(ListQuery):
    customer_id: Id | None = None


def _lines_of(contracts: list[Contract]) -> dict[int, list[ContractLine]]:
    rows = db.session.scalars(select(ContractLine).where(
        ContractLine.contract_id.in_([c.id for c in contracts]))
        .order_by(ContractLine.line_key, ContractLine.effective_from)).all()
    lines: dict[int, list[ContractLine]] = {c.id: [] for c in contracts}
    for row in rows:
        lines[row.contract_id].append(row)
    return lines


def _out(contract: Contract, lines: list[ContractLine]) -> dict[str, Any]:
    values = {name: getattr(contract, name) for name in ContractOut.model_fields
              if name != "lines"}
    return {**values, "lines": lines}


@operation(bp, "GET", "/contracts", summary="List contracts with their lines", tag=TAG,
           query=ContractQuery, response=page_of(ContractOut))
def list_contracts(query: ContractQuery) -> dict[str, Any]:
    statement = select(Contract)
    if query.customer_id:
        statement = statement.where(Contract.customer_id == query.customer_id)
    result = page(statement, Contract.id, query)
    lines = _lines_of(result["data"])
    result["data"] = [_out(contract, lines[contract.id]) for contract in result["data"]]
    return result


@operation(bp, "GET", "/contracts/<int:contract_id>", summary="Get a contract", tag=TAG,
           response=ContractOut)
def get_contract(contract_id: int) -> dict[str, Any]:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise not_found("contract")
    return _out(contract, _lines_of([contract])[contract.id])


@operation(bp, "GET", "/billing-runs", summary="List billing runs", tag=TAG, query=ListQuery,
           response=page_of(BillingRunOut))
def list_billing_runs(query: ListQuery) -> dict[str, Any]:
    return page(select(BillingRun), BillingRun.id, query)


@operation(bp, "GET", "/billing-runs/<int:billing_run_id>", summary="Get a billing run",
           tag=TAG, response=BillingRunOut)
def get_billing_run(billing_run_id: int) -> BillingRun:
    run = db.session.get(BillingRun, billing_run_id)
    if run is None:
        raise not_found("billing run")
    return run


@operation(bp, "POST", "/billing-runs", summary="Start a billing run (carried out in the"
           " background; poll it)", tag=TAG, body=BillingRunIn, response=BillingRunOut,
           status=202)
def start_billing_run(body: BillingRunIn) -> BillingRun:
    if body.contract_type_id and db.session.get(ContractType, body.contract_type_id) is None:
        raise ApiError(422, "validation_failed", "Some fields are not valid.",
                       [{"field": "contract_type_id", "message": "No such contract type."}])
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    consolidate = tenant.runs_consolidate if body.consolidate is None else body.consolidate
    issue = tenant.runs_issue if body.issue is None else body.issue
    return billing.start_run(body.run_date, body.contract_type_id, consolidate=consolidate,
                             issue=issue)
