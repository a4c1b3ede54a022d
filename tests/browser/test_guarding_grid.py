"""The guarding grid (R5.6): each day saves as it is left, by htmx, without a reload."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from saas.billing.catalog.models import Product, VatCategory, VatRate
from saas.billing.customers import services as customers
from saas.billing.work import guarding
from saas.extensions import db
from saas.tenants import scoping

pytestmark = pytest.mark.browser


def _guarded_site(app, account) -> int:
    with app.app_context(), scoping.tenant_context(account.tenant_id):
        customer = customers.create_customer(
            {"name": "Galeria Mokotów", "country": "NO", "currency": "NOK", "city": "Oslo"}
        )
        site = customers.add_site(customer, {"code": "GM-01", "name": "Main building"})
        vat = VatRate(code="25", name="Standard", rate=Decimal(25), category=VatCategory.STANDARD)
        db.session.add(vat)
        db.session.flush()
        hour = Product(
            sku="G-H",
            name="Guarding hour",
            unit="h",
            vat_rate_id=vat.id,
            base_price=Decimal(40),
            currency="NOK",
        )
        db.session.add(hour)
        db.session.flush()
        guarded = guarding.set_up_site(
            {
                "site_id": site.id,
                "product_id": hour.id,
                "mode": "hourly",
                "hourly_rate": Decimal("38.50"),
            }
        )
        db.session.commit()
        return guarded.id


def test_hours_typed_into_the_grid_are_saved_and_totalled_in_place(
    browser_page, console_messages, live_app, signed_in_owner
):
    page = browser_page
    guarded_id = _guarded_site(live_app, signed_in_owner)
    page.goto(f"{signed_in_owner.home}work/guarding/{guarded_id}?month=2026-11")
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("3", exact=True).fill("12")
    page.get_by_label("4", exact=True).fill("7,5")
    page.get_by_label("5", exact=True).fill("30")
    page.get_by_label("6", exact=True).focus()  # leaving the 5th saves it
    expect(page.locator("#month-hours")).to_have_text("19.5")
    expect(page.locator("#day-2026-11-05 .error")).to_have_text("A day has at most 24 hours.")
    assert page.evaluate("window.__notReloaded === true")

    page.reload()
    expect(page.get_by_label("4", exact=True)).to_have_value("7.5")
    expect(page.get_by_label("5", exact=True)).to_have_value("")
    page.get_by_label("10", exact=True).fill("6")
    page.get_by_role("button", name="Save the month").click()  # the form, without htmx
    expect(page.locator(".flash")).to_contain_text("Hours saved.")
    expect(page.locator("#month-hours")).to_have_text("25.5")
    page.get_by_role("button", name="Capture the month for billing").click()
    expect(page.locator(".flash")).to_contain_text("November 2026 captured")
    # No script error and no policy violation (the refused day's 422 is logged, as it is).
    assert [
        m
        for m in console_messages
        if "content security policy" in m.lower() or "error" in m.lower() and "422" not in m
    ] == []
