"""Field work in the browser, CSRF on: a protocol from its form to a draft invoice, and
netting with a partner agency from its preview to the statement."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from saas.billing.catalog.models import PriceList, PriceListItem, Product, VatCategory, VatRate
from saas.billing.customers import services as customers
from saas.billing.work import items, payables
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.access import tenant_today_of

pytestmark = pytest.mark.browser
D = Decimal


def _catalog(app, account) -> None:
    with app.app_context(), scoping.tenant_context(account.tenant_id):
        # The company's own today, as the netting page's default period counts it (at
        # 23:30 UTC on the last of a month it is already the 1st in Oslo).
        today = tenant_today_of(account.tenant_id)
        hospital = customers.create_customer(
            {"name": "Szpital Miejski", "country": "NO", "currency": "NOK", "city": "Oslo"}
        )
        customers.add_site(hospital, {"code": "SZ-3", "name": "Pavilion A"})
        partner = customers.create_customer(
            {"name": "Agencja Żubr", "country": "NO", "currency": "NOK", "city": "Oslo"}
        )
        vat = VatRate(code="25", name="Standard", rate=D(25), category=VatCategory.STANDARD)
        db.session.add(vat)
        db.session.flush()
        made = {}
        for sku, name, unit, price in (
            ("SERW", "Alarm service", "h", "145"),
            ("CZUJ", "Smoke detector", "pcs", "89"),
            ("KONW", "Convoy pick-up", "pcs", "180"),
            ("OCH", "Guarding hour", "h", "40"),
        ):
            made[sku] = Product(
                sku=sku,
                name=name,
                unit=unit,
                vat_rate_id=vat.id,
                base_price=D(price),
                currency="NOK",
            )
            db.session.add(made[sku])
        db.session.flush()
        their_list = PriceList(name="Żubr 2026", currency="NOK")
        db.session.add(their_list)
        db.session.flush()
        db.session.add(
            PriceListItem(price_list_id=their_list.id, product_id=made["OCH"].id, price=D(31))
        )
        payables.set_supplier_terms(partner, price_list_id=their_list.id, is_partner=True)
        items.capture(
            event="card_completed",
            customer=partner,
            source_type="cit_service",
            source_id=1,
            occurred_on=today,
            quantity=D(1),
            product=made["KONW"],
            description="Convoy for Żubr",
        )
        payables.record_payable(
            {
                "supplier_id": partner.id,
                "occurred_on": today,
                "product_id": made["OCH"].id,
                "quantity": D(2),
            }
        )
        db.session.commit()


def test_a_protocol_is_completed_and_invoiced_from_the_finished_work(
    browser_page, live_app, signed_in_owner
):
    page = browser_page
    _catalog(live_app, signed_in_owner)
    page.goto(f"{signed_in_owner.home}work/protocols/new")
    page.locator("#customer_id").select_option(
        label=page.locator("#customer_id option", has_text="Szpital").inner_text()
    )
    page.locator("#site_id").select_option(
        label=page.locator("#site_id option", has_text="SZ-3").inner_text()
    )
    page.get_by_label("Work done", exact=True).fill("Replaced two detectors.")
    page.get_by_label("Hours", exact=True).fill("2.5")
    page.locator("#labour_product_id").select_option(
        label=page.locator("#labour_product_id option", has_text="Alarm service").inner_text()
    )
    page.get_by_role("button", name="Save protocol").click()
    expect(page.locator(".flash")).to_contain_text("saved")
    page.locator("#product_id").select_option(
        label=page.locator("#product_id option", has_text="Smoke detector").inner_text()
    )
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add material").click()
    expect(page.locator("#materials")).to_contain_text("Smoke detector")
    page.get_by_role("button", name="Complete").click()
    expect(page.locator(".flash")).to_contain_text("finished work to invoice")

    page.get_by_role("link", name="Finished work to invoice").click()
    row = page.locator("#finished-work tbody tr").first
    expect(row).to_contain_text("540.50 NOK")  # 2.5 h × 145 + 2 × 89
    row.get_by_role("button", name="Invoice").click()
    expect(page.locator(".flash")).to_contain_text("Draft invoice made from protocol")
    expect(page.locator("body")).to_contain_text("Smoke detector")


def test_netting_with_a_partner_is_previewed_and_settled(browser_page, live_app, signed_in_owner):
    page = browser_page
    _catalog(live_app, signed_in_owner)
    page.goto(f"{signed_in_owner.home}payables/netting")
    page.locator("#partner_id").select_option(
        label=page.locator("#partner_id option", has_text="Żubr").inner_text()
    )
    page.get_by_role("button", name="Show the services").click()
    expect(page.locator("#netting-result")).to_contain_text("118.00 NOK")  # 180 − 2 × 31
    page.get_by_role("button", name="Make the statement and settle").click()
    expect(page.locator(".flash")).to_contain_text("Netting statement NS-0001 made")
    expect(page.locator("body")).to_contain_text("Draft invoice")
