"""The stopwatch in a browser: start, switch (the queue), resume, stop; then the time is
billed from the billable-items inbox onto a draft invoice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from saas.billing.catalog.models import Product, VatCategory, VatRate
from saas.billing.customers import services as customers
from saas.billing.work import projects, setup
from saas.extensions import db
from saas.tenants import scoping

pytestmark = pytest.mark.browser


def _job(app, account) -> None:
    """A customer, an hourly product billed by started quarter hours, a rule, a project."""
    with app.app_context(), scoping.tenant_context(account.tenant_id):
        vat = VatRate(code="25", name="Standard", rate=Decimal(25), category=VatCategory.STANDARD)
        db.session.add(vat)
        hour = Product(
            sku="H",
            name="Consulting hour",
            unit="h",
            vat_rate=vat,
            base_price=Decimal("1000.00"),
            currency="NOK",
            quantity_increment=Decimal("0.25"),
        )
        db.session.add(hour)
        db.session.flush()
        setup.create_rule(
            {
                "name": "Hours",
                "event": "time_entry",
                "product_id": hour.id,
                "quantity_mode": "hours",
            }
        )
        customer = customers.create_customer(
            {"name": "Fjord Kraft AS", "country": "NO", "currency": "NOK", "city": "Oslo"}
        )
        project = projects.create_project(customer, {"name": "Grid study"})
        for title in ("Design", "Review"):
            projects.add_task(project, {"title": title})
        db.session.commit()


def test_the_timer_starts_switches_resumes_stops_and_the_time_is_billed(
    browser_page, live_app, signed_in_owner
):
    page = browser_page
    _job(live_app, signed_in_owner)
    page.goto(f"{signed_in_owner.home}work/time")
    page.evaluate("window.__notReloaded = true")
    timer = page.locator("#timer")
    expect(timer.locator("#timer-idle")).to_be_visible()

    timer.get_by_label("Task").select_option(label="Grid study · Design")
    timer.get_by_role("button", name="Start").click()
    running = page.locator("#timer-running")
    expect(running).to_contain_text("Grid study · Design")

    page.locator("#timer").get_by_label("Task").select_option(label="Grid study · Review")
    page.locator("#timer").get_by_role("button", name="Switch to this task").click()
    expect(running).to_contain_text("Grid study · Review")
    queue = page.locator("#timer-queue")
    expect(queue).to_contain_text("Grid study · Design")
    assert page.evaluate("window.__notReloaded === true")  # swapped by htmx

    queue.get_by_role("row").filter(has_text="Design").get_by_role("button", name="Resume").click()
    expect(running).to_contain_text("Grid study · Design")
    expect(page.locator("#timer-queue")).to_contain_text("Grid study · Review")
    page.reload()  # every page's header names the task being timed
    expect(page.locator("#timer-badge")).to_contain_text("Timing Design")

    running.get_by_role("button", name="Stop and record").click()
    entries = page.locator("#my-entries")
    expect(entries).to_contain_text("Grid study · Design")
    expect(page.locator("#timer-idle")).to_be_visible()
    expect(page.locator("#timer-queue")).to_contain_text("Grid study · Review")

    page.get_by_role("link", name="Billable items").click()
    page.get_by_role("link", name="Fjord Kraft AS").click()
    item = page.locator("#open-items tbody tr").filter(has_text="Grid study: Design")
    expect(item).to_contain_text("0.25 h")
    item.get_by_role("checkbox").check()
    page.get_by_role("button", name="Bill ticked items").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft invoice")
    expect(page.locator("#lines-panel")).to_contain_text("Grid study: Design")
