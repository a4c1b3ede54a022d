"""A bureau's client companies (R8): set up by the bureau, or access granted by a company
with the bureau's invite code; mode, assignments; ended by either side, all logged."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.billing.customers.models import Customer
from saas.extensions import db
from saas.outsourced_service import clients
from saas.outsourced_service.models import BureauClient, Side
from saas.tenants import scoping
from saas.tenants.models import (
    AuditEntry,
    BureauAssignment,
    BureauMode,
    Invitation,
    Role,
    Tenant,
    TenantKind,
)
from tests.factories import TenantFactory, member
from tests.factories_bureau import bureau_member, bureau_with_clients


def actions(tenant_id: int) -> list[str]:
    with scoping.tenant_context(tenant_id):
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_bureau_sets_up_a_client_company_that_becomes_its_customer(make_client, db_session):
    bureau = TenantFactory(kind=TenantKind.BUREAU, country="PL", currency="PLN")
    admin = member(bureau, Role.ADMIN)
    http = make_client(admin)
    response = http.post(f"/t/{bureau.slug}/bureau/clients/new", data={
        "name": "Piekarnia Kłos Sp. z o.o.", "country": "PL", "currency": "PLN",
        "locale": "pl", "timezone": "Europe/Warsaw", "vat_id": "PL5260250274",
        "address_line1": "ul. Zbożowa 1", "postal_code": "00-001", "city": "Warszawa",
        "mode": "self_service", "email": "szef@klos.example"})
    client = db.session.scalar(select(Tenant).where(Tenant.name == "Piekarnia Kłos Sp. z o.o."))
    assert response.status_code == 302 and response.location.endswith(f"/t/{client.slug}/settings")
    assert (client.bureau_id, client.bureau_mode) == (bureau.id, BureauMode.SELF_SERVICE)
    with scoping.tenant_context(bureau.id):
        link = db.session.scalar(select(BureauClient))
        assert (link.client_tenant_id, link.started_by_side) == (client.id, Side.BUREAU)
        customer = db.session.get(Customer, link.customer_id)
        assert (customer.vat_id, customer.currency) == ("PL5260250274", "PLN")
        assert [c.email for c in customer.contacts] == ["szef@klos.example"]
    with scoping.tenant_context(client.id):
        [invitation] = db.session.scalars(select(Invitation)).all()
        assert (invitation.email, invitation.role) == ("szef@klos.example", Role.ADMIN)
        [onboarded] = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "bureau.onboarded")).all()
        assert onboarded.acting_tenant_id == bureau.id
    assert "bureau.client_started" in actions(bureau.id)
    assert "Piekarnia" in http.get(f"/t/{bureau.slug}/bureau/clients").text


def test_a_company_grants_a_bureau_access_with_its_invite_code(make_client, db_session):
    bureau = bureau_with_clients(())
    company = TenantFactory(name="Fjord Kaffe AS")
    owner = member(company, Role.OWNER)
    page = make_client(bureau.admin).get(f"/t/{bureau.tenant.slug}/bureau/clients").text
    code = re.search(r'id="invite-code">([^<]+)<', page).group(1).strip()
    http = make_client(owner)

    refused = http.post(f"/t/{company.slug}/settings/bureau/grant",
                        data={"code": code[:-3] + "xyz", "mode": "operated"})
    assert refused.status_code == 422 and "not valid" in refused.text
    granted = http.post(f"/t/{company.slug}/settings/bureau/grant",
                        data={"code": code, "mode": "operated"}, follow_redirects=True)
    assert f"{bureau.tenant.name} now serves Fjord Kaffe AS" in granted.text
    assert company.bureau_id == bureau.tenant.id
    with scoping.tenant_context(bureau.tenant.id):
        [link] = db.session.scalars(select(BureauClient)).all()
        assert link.started_by_side is Side.CLIENT
    assert "bureau.access_granted" in actions(company.id)
    # The bureau's admin is let in at once.
    assert make_client(bureau.admin).get(f"/t/{company.slug}/").status_code == 200


def test_a_company_has_one_bureau_at_a_time_and_a_bureau_none(db_session):
    first, second = bureau_with_clients(()).tenant, bureau_with_clients(()).tenant
    company = TenantFactory()
    with scoping.tenant_context(company.id):
        clients.grant_access(company, clients.invite_code(first), mode=BureauMode.OPERATED,
                             user_id=None)
        with pytest.raises(clients.BureauError, match="serves this company"):
            clients.grant_access(company, clients.invite_code(second),
                                 mode=BureauMode.OPERATED, user_id=None)
    with scoping.tenant_context(second.id), pytest.raises(
        clients.BureauError, match="not served by another bureau"
    ):
        clients.grant_access(second, clients.invite_code(first), mode=BureauMode.OPERATED,
                             user_id=None)


def test_assignments_are_chosen_by_a_bureau_admin_and_logged_on_both_sides(
    make_client, db_session
):
    bureau = bureau_with_clients(("Alfa AS",))
    client = bureau.clients[0]
    staff = bureau_member(bureau, Role.STAFF)
    http = make_client(staff)
    assert http.get(f"/t/{client.slug}/").status_code == 404
    assert http.get(f"/t/{bureau.tenant.slug}/bureau/clients").status_code == 403
    with scoping.tenant_context(bureau.tenant.id):
        link_id = clients.open_link(client.id).id

    response = make_client(bureau.admin).post(
        f"/t/{bureau.tenant.slug}/bureau/clients/{link_id}/assignments",
        data={"user_ids": [str(staff.id)]})
    assert response.status_code == 302
    assert http.get(f"/t/{client.slug}/").status_code == 200
    assert "bureau.assignments" in actions(bureau.tenant.id)
    assert "bureau.assignments" in actions(client.id)
    page = make_client(member(client, Role.OWNER)).get(f"/t/{client.slug}/settings/bureau/")
    assert staff.name in page.text  # the company sees who of the bureau works for it


def test_either_side_ends_the_service_and_the_bureaus_people_lose_access(
    make_client, db_session
):
    bureau = bureau_with_clients(("Alfa AS", "Beta AS"))
    alfa, beta = bureau.clients
    staff = bureau_member(bureau, Role.STAFF, assigned_to=(alfa, beta))
    owner = member(alfa, Role.OWNER)
    with scoping.tenant_context(bureau.tenant.id):
        beta_link = clients.open_link(beta.id).id

    assert make_client(owner).post(f"/t/{alfa.slug}/settings/bureau/end").status_code == 302
    assert make_client(bureau.admin).post(
        f"/t/{bureau.tenant.slug}/bureau/clients/{beta_link}/end").status_code == 302

    for client, side in ((alfa, Side.CLIENT), (beta, Side.BUREAU)):
        assert client.bureau_id is None
        assert make_client(staff).get(f"/t/{client.slug}/").status_code == 404
        assert make_client(bureau.admin).get(f"/t/{client.slug}/").status_code == 404
        assert "bureau.service_ended" in actions(client.id)
        with scoping.tenant_context(bureau.tenant.id):
            link = db.session.scalar(select(BureauClient).where(
                BureauClient.client_tenant_id == client.id))
            assert (link.ended_by_side, link.is_open) == (side, False)
            assert db.session.scalars(select(BureauAssignment).where(
                BureauAssignment.client_tenant_id == client.id)).all() == []
    assert actions(bureau.tenant.id).count("bureau.client_ended") == 2


def test_the_mode_switches_from_either_side_and_the_bureau_cannot_use_the_clients_side(
    make_client, db_session
):
    bureau = bureau_with_clients(("Alfa AS",))
    client = bureau.clients[0]
    owner = member(client, Role.OWNER)
    make_client(owner).post(f"/t/{client.slug}/settings/bureau/mode",
                            data={"mode": "self_service"})
    assert client.bureau_mode is BureauMode.SELF_SERVICE
    with scoping.tenant_context(bureau.tenant.id):
        link_id = clients.open_link(client.id).id
    make_client(bureau.admin).post(f"/t/{bureau.tenant.slug}/bureau/clients/{link_id}/mode",
                                   data={"mode": "operated"})
    assert client.bureau_mode is BureauMode.OPERATED
    assert actions(client.id).count("bureau.mode_changed") == 2
    # Acting for the client, the bureau's admin may not end the service in its name.
    assert make_client(bureau.admin).post(
        f"/t/{client.slug}/settings/bureau/end").status_code == 403
