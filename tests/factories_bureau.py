"""Factories for the bureau (R8): its register of clients, assignments, activity, print runs;
and a bureau with client companies set up through the services, as a bureau admin would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import factory

from saas.extensions import db
from saas.outsourced_service import clients
from saas.outsourced_service.models import BureauActivity, BureauClient, BureauPostBatch, Side
from saas.tenants.models import BureauAssignment, BureauMode, Role, Tenant, TenantKind, User
from tests.factories import (
    BankAccountFactory,
    CustomerFactory,
    TenantFactory,
    TenantScopedFactory,
    UserFactory,
    member,
)


class BureauClientFactory(TenantScopedFactory):
    class Meta:
        model = BureauClient

    client_tenant_id = factory.LazyAttribute(lambda o: TenantFactory().id)
    customer_id = factory.LazyAttribute(lambda o: CustomerFactory(tenant=o.tenant).id)
    started_by_side = Side.BUREAU


class BureauAssignmentFactory(TenantScopedFactory):
    class Meta:
        model = BureauAssignment

    client_tenant_id = factory.LazyAttribute(lambda o: TenantFactory().id)
    user_id = factory.LazyAttribute(lambda o: UserFactory().id)


class BureauActivityFactory(TenantScopedFactory):
    class Meta:
        model = BureauActivity

    client_tenant_id = factory.LazyAttribute(lambda o: TenantFactory().id)
    bureau_client_id = factory.LazyAttribute(
        lambda o: BureauClientFactory(tenant=o.tenant, client_tenant_id=o.client_tenant_id).id)
    period_start = date(2026, 10, 1)
    period_end = date(2026, 11, 1)
    served_from = date(2026, 10, 1)
    served_until = date(2026, 11, 1)


class BureauPostBatchFactory(TenantScopedFactory):
    class Meta:
        model = BureauPostBatch

    pdf = b"%PDF-1.4 empty"
    parts = factory.LazyFunction(list)


def bureau_rows(tenant: Tenant) -> None:
    """One row of every bureau table in tenant (for the isolation guards)."""
    BureauAssignmentFactory(tenant=tenant)
    BureauActivityFactory(tenant=tenant)  # and its register entry
    BureauPostBatchFactory(tenant=tenant)


@dataclass
class Bureau:
    tenant: Tenant
    admin: User
    clients: list[Tenant]


def bureau_with_clients(names: tuple[str, ...] = ("Alfa Sp. z o.o.", "Beta s.r.o.",
                                                  "Gamma AS"),
                        mode: BureauMode = BureauMode.OPERATED) -> Bureau:
    """A bureau (PLN) whose admin set up the named client companies through the service,
    each with a bank account."""
    bureau = TenantFactory(kind=TenantKind.BUREAU, country="PL", currency="PLN")
    admin = member(bureau, Role.ADMIN, name="Bureau Admin")
    made = []
    for name in names:
        client = clients.onboard_client(
            bureau, {"name": name, "country": "NO", "currency": "NOK", "locale": "en",
                     "timezone": "Europe/Oslo", "address_line1": f"{name} street 1",
                     "postal_code": "0150", "city": "Oslo"},
            mode=mode, user=admin)
        db.session.commit()
        BankAccountFactory(tenant=client, iban="NO9386011117947", label=f"{name} account")
        made.append(client)
    return Bureau(bureau, admin, made)


def bureau_member(bureau: Bureau, role: Role = Role.STAFF,
                  assigned_to: tuple[Tenant, ...] = ()) -> User:
    """A member of the bureau with role, assigned to the given clients."""
    user = member(bureau.tenant, role)
    for client in assigned_to:
        BureauAssignmentFactory(tenant=bureau.tenant, client_tenant_id=client.id,
                                user_id=user.id)
    return user
