"""Finding a customer by typing, and editing it in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.billing.customers import services as customers
from saas.extensions import db
from saas.tenants import scoping

pytestmark = pytest.mark.browser


def _register(app, account, names: list[str]) -> None:
    with app.app_context(), scoping.tenant_context(account.tenant_id):
        for name in names:
            customer = customers.create_customer(
                {"name": name, "country": "NO", "currency": "NOK", "city": "Oslo"}
            )
            customers.add_site(customer, {"code": f"S-{customer.number}", "name": "Lager"})
        db.session.commit()


def test_a_customer_is_found_by_typing_and_edited_in_place(
    browser_page, live_app, signed_in_owner
):
    page = browser_page
    _register(live_app, signed_in_owner,
              ["Havbris Hotell AS", "Fjellheim Borettslag", "Nordlys Kafé"])
    page.goto(f"{signed_in_owner.home}customers/")
    page.evaluate("window.__notReloaded = true")
    results = page.locator("#customer-results tbody tr")
    expect(results).to_have_count(3)

    page.get_by_label("Search").fill("havb")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Havbris Hotell AS")
    assert page.evaluate("window.__notReloaded === true")  # swapped by htmx, not reloaded
    expect(page).to_have_url(f"{page.url.split('?')[0]}?q=havb")

    results.first.get_by_role("link", name="Havbris Hotell AS").click()
    expect(page.get_by_role("heading", name="Havbris Hotell AS", level=1)).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    page.locator("#customer-details").get_by_role("link", name="Edit").click()
    form = page.locator("#customer-form")
    form.get_by_label("City", exact=True).fill("Bergen")
    form.get_by_label("Payment terms (days)").fill("999")
    form.get_by_role("button", name="Save").click()
    expect(form.locator("#payment_terms_days-error")).to_have_text("Use 0 to 365 days.")

    form.get_by_label("Payment terms (days)").fill("30")
    form.get_by_role("button", name="Save").click()
    details = page.locator("#customer-details")
    expect(details).to_contain_text("Bergen")
    expect(details).to_contain_text("30 days")
    assert page.evaluate("window.__notReloaded === true")
