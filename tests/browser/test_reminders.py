"""The owner sets up reminders in the browser and sees one go out for an overdue invoice."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from saas.billing.catalog import services as catalog
from saas.billing.catalog.models import VatCategory
from saas.billing.customers import services as customers
from saas.billing.documents import issuing, services
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from tests.helpers import run_jobs, sent_mails

pytestmark = pytest.mark.browser


def _overdue_invoice(app, account) -> str:
    with app.app_context(), scoping.tenant_context(account.tenant_id):
        vat = catalog.create_vat_rate({"code": "S25", "name": "Standard", "rate": Decimal(25),
                                       "category": VatCategory.STANDARD, "note": ""})
        customer = customers.create_customer(
            {"name": "Tromsø Takst AS", "country": "NO", "currency": "NOK", "city": "Tromsø"})
        customers.add_contact(customer, {"name": "Regnskap", "email": "regnskap@takst.example",
                                         "receives_invoices": True})
        db.session.flush()
        invoice = services.create_document(DocumentKind.INVOICE, customer)
        services.add_line(invoice, {"description": "Takst", "quantity": Decimal(1),
                                    "unit_price": Decimal("4000"), "vat_rate_id": vat.id})
        issuing.issue_document(invoice, on=date.today() - timedelta(days=40))
        db.session.commit()
        return invoice.number


def test_the_suggested_policy_sends_a_reminder_for_an_overdue_invoice(
    browser_page, live_app, signed_in_owner
):
    page = browser_page
    number = _overdue_invoice(live_app, signed_in_owner)
    page.goto(f"{signed_in_owner.home}reminders/policy")
    page.get_by_role("button", name="Use the suggested policy").click()
    expect(page.locator("#levels")).to_contain_text("Payment demand")
    expect(page.locator("#levels")).to_contain_text("3 days before the due date")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reminders").click()
    page.get_by_role("button", name="Send due reminders now").click()
    expect(page.locator(".flashes")).to_contain_text("on their way")
    with live_app.app_context():
        run_jobs(live_app)  # the worker
    page.reload()
    row = page.locator("#reminder-list tbody tr").first
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("First reminder")
    expect(row).to_contain_text("sent")
    outbox = Path(live_app.config["OUTBOX_DIR"])
    [mail] = [m for m in sent_mails(outbox) if m["To"] == "regnskap@takst.example"]
    assert number in mail["Subject"]
