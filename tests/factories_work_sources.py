"""Factories for the sources of billable work and for payables (R5.5–R5.7, R5.10, R5.11)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from saas.billing.work.guarding_rules import GuardingMode
from saas.billing.work.netting_rules import Outcome, Side
from saas.billing.work.payable_models import (
    NettingLine,
    NettingStatement,
    PayableItem,
    SupplierTerms,
)
from saas.billing.work.source_models import (
    CitCard,
    CitService,
    CitServiceKind,
    GuardedSite,
    GuardingHours,
    GuardingPeriod,
    ProtocolMaterial,
    WorkProtocol,
)
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SiteFactory,
    TenantScopedFactory,
)

_same_tenant = factory.SelfAttribute("..tenant")


class WorkProtocolFactory(TenantScopedFactory):
    class Meta:
        model = WorkProtocol

    number = factory.Sequence(lambda n: f"P-{n:05d}")
    customer = factory.SubFactory(CustomerFactory, tenant=_same_tenant)
    performed_on = date(2026, 11, 2)


class ProtocolMaterialFactory(TenantScopedFactory):
    class Meta:
        model = ProtocolMaterial

    protocol = factory.SubFactory(WorkProtocolFactory, tenant=_same_tenant)
    product = factory.SubFactory(ProductFactory, tenant=_same_tenant)
    quantity = Decimal(2)


class GuardedSiteFactory(TenantScopedFactory):
    class Meta:
        model = GuardedSite

    site = factory.SubFactory(SiteFactory, tenant=_same_tenant)
    product = factory.SubFactory(ProductFactory, tenant=_same_tenant)
    mode = GuardingMode.HOURLY


class GuardingHoursFactory(TenantScopedFactory):
    class Meta:
        model = GuardingHours

    guarded_site_id = factory.LazyAttribute(lambda o: GuardedSiteFactory(tenant=o.tenant).id)
    worked_on = date(2026, 11, 2)
    hours = Decimal(8)


class GuardingPeriodFactory(TenantScopedFactory):
    class Meta:
        model = GuardingPeriod

    guarded_site = factory.SubFactory(GuardedSiteFactory, tenant=_same_tenant)
    period_start = date(2026, 11, 1)
    period_end = date(2026, 11, 30)


class CitCardFactory(TenantScopedFactory):
    class Meta:
        model = CitCard

    number = factory.Sequence(lambda n: f"K-{n:05d}")
    customer = factory.SubFactory(CustomerFactory, tenant=_same_tenant)
    served_on = date(2026, 11, 2)


class CitServiceFactory(TenantScopedFactory):
    class Meta:
        model = CitService

    card = factory.SubFactory(CitCardFactory, tenant=_same_tenant)
    kind = CitServiceKind.PICKUP
    product = factory.SubFactory(ProductFactory, tenant=_same_tenant)


class SupplierTermsFactory(TenantScopedFactory):
    class Meta:
        model = SupplierTerms

    customer = factory.SubFactory(CustomerFactory, tenant=_same_tenant)
    is_partner = True


class PayableItemFactory(TenantScopedFactory):
    class Meta:
        model = PayableItem

    supplier = factory.SubFactory(CustomerFactory, tenant=_same_tenant)
    description = "Outsourced service"
    occurred_on = date(2026, 11, 2)
    quantity = Decimal(1)
    unit_price = Decimal("100.00")
    currency = "NOK"


class NettingStatementFactory(TenantScopedFactory):
    class Meta:
        model = NettingStatement

    number = factory.Sequence(lambda n: f"NS-{n:05d}")
    partner = factory.SubFactory(CustomerFactory, tenant=_same_tenant)
    period_start = date(2026, 11, 1)
    period_end = date(2026, 11, 30)
    currency = "NOK"
    given_total = Decimal(0)
    received_total = Decimal(0)
    difference = Decimal(0)
    outcome = Outcome.EVEN


class NettingLineFactory(TenantScopedFactory):
    class Meta:
        model = NettingLine

    statement = factory.SubFactory(NettingStatementFactory, tenant=_same_tenant)
    side = Side.GIVEN
    occurred_on = date(2026, 11, 2)
    quantity = Decimal(1)
    unit_price = Decimal(10)
    net = Decimal(10)
