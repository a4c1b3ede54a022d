"""Demo contracts: a quarterly service contract with an annex this quarter, and its run;
a monthly support flat fee whose included hours are 85 % used this month (R4.6)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from saas.billing.catalog.models import Product, VatRate
from saas.billing.contracts import billing, volumes
from saas.billing.contracts import services as contracts
from saas.billing.contracts.models import Contract
from saas.billing.contracts.proration import period_containing
from saas.billing.customers.models import Customer
from saas.billing.documents import services as documents
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant


def seed_contracts(tenant: Tenant) -> None:
    """Once per tenant: a contract type and a quarterly contract amended this quarter."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(Contract.id).limit(1)) is not None:
            return
        customer = db.session.scalar(select(Customer).order_by(Customer.number))
        vat = db.session.scalar(select(VatRate).order_by(VatRate.rate.desc()))
        if customer is None or vat is None:
            return
        today = documents.today()
        kind = contracts.create_type("Service agreement")
        contract = contracts.create_contract(customer, {
            "start_date": today - relativedelta(months=7, day=1), "billing_period": "quarterly",
            "in_advance": True, "billing_day": 1, "contract_type_id": kind.id,
            "notice_months": 3, "title": "Service and monitoring",
            "site_ids": [site.id for site in customer.sites]})
        site_id = customer.sites[0].id if customer.sites else None
        contracts.add_line(contract, {"description": "Monitoring, per month",
                                      "quantity": Decimal(3), "unit_price": Decimal("450.00"),
                                      "vat_rate_id": vat.id, "site_id": site_id})
        contracts.add_line(contract, {"description": "Quarterly inspection",
                                      "quantity": Decimal(1), "unit_price": Decimal("1200.00"),
                                      "vat_rate_id": vat.id})
        quarter = period_containing(today, "quarterly")
        middle = quarter.start + relativedelta(months=1, days=14)
        if middle > contract.start_date:
            contracts.add_annex(contract, middle, "A second monitored panel", [
                {"action": "change", "line_key": 1, "unit_price": Decimal("600.00")}])
        # This quarter's run, as drafts to review (Contracts → Billing runs shows it).
        run = billing.start_run(quarter.start, None, consolidate=True, issue=False,
                                queued=False)
        billing.carry_out(run.id)
        db.session.commit()
        _support_contract(customer, vat, today)
        db.session.commit()


# Work on the demo support line this month: 8.5 of the 10 hours included (85 %).
SUPPORT_WORK = ((12, Decimal("3.0"), "Server updates and backup check"),
                (6, Decimal("4.0"), "Network outage: diagnosis and router replacement"),
                (1, Decimal("1.5"), "New user accounts and mail setup"))


def _support_contract(customer: Customer, vat: VatRate, today: date) -> None:
    """R4.6: a monthly flat fee including 10 hours, 85 % used this month (a to-do warns)."""
    hourly = db.session.scalar(select(Product).where(Product.unit == "h")
                               .order_by(Product.sku))
    if hourly is None:
        return
    contract = contracts.create_contract(customer, {
        "start_date": today - relativedelta(months=3, day=1), "billing_period": "monthly",
        "in_advance": True, "billing_day": 1, "title": "Support agreement"})
    line = contracts.add_line(contract, {
        "description": "Support, flat fee", "quantity": Decimal(1), "unit": "month",
        "unit_price": Decimal("5000.00"), "vat_rate_id": vat.id,
        "included_quantity": Decimal(10), "included_unit": "h",
        "overage_product_id": hourly.id})
    month_start = today.replace(day=1)
    for days_ago, hours, what in SUPPORT_WORK:
        volumes.record_usage(contract, line.line_key,
                             max(today - timedelta(days=days_ago), month_start), hours, what)
