"""The demo's field work (R5.5–R5.7, R5.10): a guarding month, a convoy card, a finished
protocol and a partner agency, each of which ends on an invoice or a netting statement."""

from __future__ import annotations

from sqlalchemy import select

from saas.billing.work import netting, protocols
from saas.billing.work.models import BillableItem, CostRate, ItemStatus
from saas.billing.work.netting_rules import Outcome
from saas.billing.work.payable_models import SupplierTerms
from saas.billing.work.source_models import GuardingHours, GuardingPeriod
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant


def test_the_demo_field_work_can_be_invoiced_and_netted(db_session):
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "sokol"))
    with scoping.tenant_context(tenant.id):
        assert db.session.scalar(select(GuardingPeriod.hours)) > 500  # a month, day and night
        assert len(db.session.scalars(select(GuardingHours)).all()) > 28
        events = sorted(item.event for item in db.session.scalars(select(BillableItem)))
        assert events.count("card_completed") == 5  # ours, and the partner's two pick-ups
        assert events.count("guarding_period") == 1
        [(protocol, waiting)] = protocols.finished_to_invoice()
        invoice = protocols.invoice_protocol(protocol)
        assert len(invoice.lines) == len(waiting) == 2
        [terms] = db.session.scalars(select(SupplierTerms)).all()
        period_start = min(
            i.occurred_on
            for i in db.session.scalars(
                select(BillableItem).where(BillableItem.customer_id == terms.customer_id)
            )
        )
        statement = netting.make_statement(
            terms.customer, period_start.replace(day=1), period_start.replace(day=28)
        )
        # two pick-ups at 180 given, 20 hours at the partner's 31 received: we owe 260
        assert (statement.given_total, statement.received_total, statement.difference) == (
            360,
            620,
            260,
        )
        assert statement.outcome is Outcome.PAYABLE
        assert db.session.scalar(select(CostRate.hourly_cost).limit(1)) is not None
        assert all(
            item.status is ItemStatus.INVOICED
            for item in db.session.scalars(
                select(BillableItem).where(BillableItem.customer_id == terms.customer_id)
            )
        )
