"""A quote becomes an order and an invoice in the browser; the issued PDF downloads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from saas.billing.catalog import services as catalog
from saas.billing.catalog.models import VatCategory
from saas.billing.customers import services as customers
from saas.extensions import db
from saas.tenants import scoping

pytestmark = pytest.mark.browser


def _catalog(app, account) -> int:
    with app.app_context(), scoping.tenant_context(account.tenant_id):
        vat = catalog.create_vat_rate({"code": "S25", "name": "Standard", "rate": Decimal(25),
                                       "category": VatCategory.STANDARD, "note": ""})
        db.session.flush()
        catalog.create_product({
            "sku": "CONS", "name": "Consulting hour", "description": "", "unit": "h",
            "category_id": None, "vat_rate_id": vat.id, "base_price": Decimal("1000"),
            "currency": "NOK", "cost_price": None, "quantity_increment": Decimal("1"),
            "minimum_quantity": None})
        customer = customers.create_customer(
            {"name": "Łódź Żółw Æøå AS", "country": "NO", "currency": "NOK", "city": "Oslo"})
        db.session.commit()
        return customer.id


def test_quote_to_order_to_invoice_issued_and_downloaded(
    browser_page, live_app, signed_in_owner, tmp_path
):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    customer_id = _catalog(live_app, signed_in_owner)
    page.goto(f"{signed_in_owner.home}customers/{customer_id}")
    page.locator("#customer-documents").get_by_role("button", name="New quote").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft quote")

    page.evaluate("window.__notReloaded = true")
    add = page.locator("#add-line")
    add.get_by_label("Product").select_option(label="Consulting hour (CONS)")
    add.get_by_label("Quantity").fill("2.5")
    expect(page.locator("#price-preview")).to_contain_text("billed as 3 h")
    add.get_by_role("button", name="Add line").click()
    expect(page.locator("#gross-total")).to_have_text("3,750.00 NOK")
    assert page.evaluate("window.__notReloaded === true")  # swapped in place

    page.get_by_role("button", name="Send quote").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Quote Q-")
    page.get_by_role("button", name="Make order confirmation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft order confirmation")
    page.get_by_role("button", name="Confirm order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Order confirmation OC-")

    page.get_by_role("link", name="Invoice…").click()
    quantity = page.locator("input[name^='quantity-']")
    quantity.fill("2")
    page.get_by_role("button", name="Make the invoice draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft invoice")
    expect(page.locator("#gross-total")).to_have_text("2,500.00 NOK")
    page.get_by_role("button", name="Issue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-")
    expect(page.locator("#chain")).to_contain_text("Q-")
    expect(page.locator("#chain")).to_contain_text("Partly invoiced")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.startswith("INV-")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")

    # The list shows its sums once they arrive (asked for apart, on load), and asks again
    # for the narrowed list's when a filter changes it.
    page.goto(f"{signed_in_owner.home}documents/invoices/")
    sums = page.locator("#document-sums")
    expect(sums).to_contain_text("1 invoice in NOK")
    expect(sums).to_contain_text("2,500.00 NOK")
    page.get_by_label("Status").select_option("draft")
    expect(page.locator("#document-results")).to_contain_text("Nothing matches.")
    expect(sums).not_to_contain_text("Show totals")  # the new list's sums have arrived
    expect(sums).not_to_contain_text("in NOK")
