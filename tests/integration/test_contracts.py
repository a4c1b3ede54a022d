"""Contracts (R4.1–R4.3): lines as versions, annexes from a date, the contract at any date."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from saas.billing.contracts import services as contracts
from saas.billing.contracts.proration import BillingPeriod, Period
from saas.billing.customers.models import Customer
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import CustomerFactory, SiteFactory, TenantFactory, VatRateFactory, member
from tests.helpers import errors_in


@pytest.fixture()
def guarded(db_session):
    """A quarterly guarding contract from 2026-01-01: two posts at fixed prices."""
    tenant = TenantFactory(name="Ochrona Sokół Sp. z o.o.", country="PL", currency="PLN")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Galeria Mokotów", currency="PLN")
        site = SiteFactory(tenant=tenant, customer=customer, code="GM-1", name="Main hall")
        other = SiteFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant),
                            code="X-1")
        vat_id = VatRateFactory(tenant=tenant, rate=Decimal(23)).id
        kind = contracts.create_type("Guarding")
        contract = contracts.create_contract(
            db.session.get(Customer, customer.id),
            {"start_date": date(2026, 1, 1), "billing_period": "quarterly",
             "in_advance": True, "billing_day": 1, "contract_type_id": kind.id,
             "site_ids": [site.id], "title": "Guarding of the main hall"})
        contracts.add_line(contract, {"description": "Guard post, 24/7", "quantity": Decimal(1),
                                      "unit_price": Decimal("30000.00"), "vat_rate_id": vat_id,
                                      "site_id": site.id})
        contracts.add_line(contract, {"description": "Alarm monitoring", "quantity": Decimal(2),
                                      "unit_price": Decimal("450.00"), "vat_rate_id": vat_id})
        db.session.commit()
        return {"tenant": tenant, "owner": owner, "contract": contract.id, "vat": vat_id,
                "site": site.id, "other_site": other.id}


def load(guarded):
    from saas.billing.contracts.models import Contract

    return db.session.get(Contract, guarded["contract"])


def test_an_annex_mid_quarter_changes_the_lines_from_its_date_and_prorates(guarded):
    with scoping.tenant_context(guarded["tenant"].id):
        contract = load(guarded)
        assert contract.number == "C-0001" and [s.code for s in contract.sites] == ["GM-1"]
        # From 15 February the monitoring covers 3 panels and the guard post costs more.
        contracts.add_annex(contract, date(2026, 2, 15), "Third panel; new rate", [
            {"action": "change", "line_key": 2, "quantity": Decimal(3)},
            {"action": "change", "line_key": 1, "unit_price": Decimal("33000.00")},
        ])
        before = contracts.version_at(contract, date(2026, 2, 14))
        after = contracts.version_at(contract, date(2026, 2, 15))
        assert [(line.line_key, line.quantity, line.unit_price) for line in before] == [
            (1, Decimal("1.0000"), Decimal("30000.0000")), (2, Decimal("2.0000"),
                                                             Decimal("450.0000"))]
        assert [(line.line_key, line.quantity, line.unit_price) for line in after] == [
            (1, Decimal("1"), Decimal("33000.00")), (2, Decimal("3"), Decimal("450.00"))]
        q1 = Period(date(2026, 1, 1), date(2026, 4, 1))  # 90 days: 45 before, 45 from Feb 15
        amounts = {line.line_key: line.amount for line in contracts.period_lines(contract, q1)}
        # 30,000 × 45/90 + 33,000 × 45/90 = 31,500.00; 900 × 45/90 + 1,350 × 45/90 = 1,125.00
        assert amounts == {1: Decimal("31500.00"), 2: Decimal("1125.00")}


def test_removed_and_added_lines_and_termination_inside_a_period(guarded):
    with scoping.tenant_context(guarded["tenant"].id):
        contract = load(guarded)
        contracts.add_annex(contract, date(2026, 3, 1), "Monitoring ends; a patrol starts", [
            {"action": "remove", "line_key": 2},
            {"action": "add", "description": "Night patrol", "quantity": Decimal(1),
             "unit_price": Decimal("900.00"), "vat_rate_id": guarded["vat"]},
        ])
        contracts.terminate(contract, date(2026, 5, 31))
        assert [line.description for line in contracts.version_at(contract, date(2026, 3, 1))
                ] == ["Guard post, 24/7", "Night patrol"]
        q1 = Period(date(2026, 1, 1), date(2026, 4, 1))
        amounts = {line.description: line.amount
                   for line in contracts.period_lines(contract, q1)}
        # Monitoring 900 × 59/90 = 590.00; patrol 900 × 31/90 = 310.00
        assert amounts == {"Guard post, 24/7": Decimal("30000.00"),
                           "Alarm monitoring": Decimal("590.00"),
                           "Night patrol": Decimal("310.00")}
        q2 = Period(date(2026, 4, 1), date(2026, 7, 1))  # 91 days, service until May 31: 61
        amounts = {line.description: line.amount
                   for line in contracts.period_lines(contract, q2)}
        # 30,000 × 61/91 = 20,109.89; 900 × 61/91 = 603.30
        assert amounts == {"Guard post, 24/7": Decimal("20109.89"),
                           "Night patrol": Decimal("603.30")}


def test_bad_contracts_lines_and_annexes_are_refused_with_the_field(guarded):
    with scoping.tenant_context(guarded["tenant"].id):
        contract = load(guarded)
        customer = contract.customer
        cases = [
            (lambda: contracts.create_contract(customer, {"start_date": date(2026, 1, 1),
                                                          "end_date": date(2025, 1, 1)}),
             "end_date"),
            (lambda: contracts.create_contract(customer, {"start_date": date(2026, 1, 1),
                                                          "billing_day": 31}), "billing_day"),
            (lambda: contracts.create_contract(customer, {"start_date": date(2026, 1, 1),
                                                          "number": "C-0001"}), "number"),
            (lambda: contracts.create_contract(customer, {
                "start_date": date(2026, 1, 1), "site_ids": [guarded["other_site"]]}),
             "site_ids"),
            (lambda: contracts.add_line(contract, {"description": "x", "quantity": Decimal(1),
                                                   "vat_rate_id": guarded["vat"]}),
             "unit_price"),
            (lambda: contracts.add_annex(contract, date(2026, 1, 1), "", [
                {"action": "remove", "line_key": 1}]), "effective_date"),
            (lambda: contracts.add_annex(contract, date(2026, 2, 1), "", [
                {"action": "remove", "line_key": 9}]), "line_key"),
            (lambda: contracts.create_type("guarding"), "name"),
        ]
        for make, field in cases:
            with pytest.raises(contracts.ContractError) as refused:
                with db.session.begin_nested():
                    make()
            assert refused.value.field == field, (field, str(refused.value))


def test_the_contract_pages(guarded, make_client):
    client = make_client(guarded["owner"])
    base = f"/t/{guarded['tenant'].slug}/contracts"
    listing = client.get(f"{base}/").text
    assert "C-0001" in listing and "Galeria Mokotów" in listing and "Guarding" in listing
    page = client.get(f"{base}/{guarded['contract']}").text
    assert "Guard post, 24/7" in page and "Quarterly, in advance" in page
    made = client.post(f"{base}/{guarded['contract']}/annexes", data={
        "effective_date": "2026-02-15", "note": "Third panel", "action": "change",
        "line_key": "2", "quantity": "3"}, follow_redirects=True)
    assert "Annex 1" in made.text
    def monitoring_quantity(day: str) -> str:
        page = client.get(f"{base}/{guarded['contract']}?at={day}").text
        row = re.search(r"<td>Alarm monitoring</td><td class=\"num\">([^<]+)</td>", page)
        return row.group(1).strip()

    assert monitoring_quantity("2026-02-14") == "2"
    assert monitoring_quantity("2026-02-15") == "3"
    refused = client.post(f"{base}/{guarded['contract']}/annexes", data={
        "effective_date": "2025-12-01", "action": "remove", "line_key": "1"})
    assert refused.status_code == 422 and errors_in(refused.text)
    viewer = make_client(member(guarded["tenant"], Role.VIEWER))
    assert viewer.post(f"{base}/{guarded['contract']}/annexes").status_code == 403
    assert BillingPeriod.QUARTERLY.label == "Quarterly"


def test_the_sites_a_contract_covers_are_the_customers_own(guarded, make_client):
    client = make_client(guarded["owner"])
    url = f"/t/{guarded['tenant'].slug}/contracts/{guarded['contract']}"
    page = client.post(f"{url}/sites", data={"site_ids": []}, follow_redirects=True)
    assert "The sites the contract covers are saved" in page.text
    with scoping.tenant_context(guarded["tenant"].id):
        assert load(guarded).sites == []
    refused = client.post(f"{url}/sites", data={"site_ids": [str(guarded["other_site"])]},
                          follow_redirects=True)
    assert "Choose sites of Galeria Mokotów." in refused.text
    client.post(f"{url}/sites", data={"site_ids": [str(guarded["site"])]})
    with scoping.tenant_context(guarded["tenant"].id):
        assert [site.code for site in load(guarded).sites] == ["GM-1"]
