"""A customer signs in to the portal by an e-mailed link and accepts a quote, in Chromium."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from saas.billing.catalog.models import VatCategory, VatRate
from saas.billing.customers import services as customers
from saas.billing.documents import issuing
from saas.billing.documents import services as documents
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from tests.helpers import run_jobs, sent_mails

pytestmark = pytest.mark.browser


def _quote_for_a_portal_contact(app, account) -> tuple[str, str]:
    """A customer whose contact may use the portal, with a quote sent; (e-mail, number)."""
    email = f"buyer-{uuid.uuid4().hex[:12]}@example.com"
    with app.app_context(), scoping.tenant_context(account.tenant_id):
        vat = VatRate(code="25", name="Standard", rate=Decimal(25),
                      category=VatCategory.STANDARD)
        db.session.add(vat)
        customer = customers.create_customer({"name": "Fjord Kafé AS", "country": "NO",
                                              "currency": "NOK", "language": "nb"})
        customers.add_contact(customer, {"name": "Ola Kafé", "email": email,
                                         "portal_access": True, "receives_invoices": True})
        db.session.flush()
        quote = documents.create_document(DocumentKind.QUOTE, customer)
        documents.add_line(quote, {"description": "Ny varmtvannsbereder",
                                   "quantity": Decimal(1), "unit_price": Decimal("12490"),
                                   "vat_rate_id": vat.id})
        issuing.issue_document(quote)
        number = quote.number
        db.session.commit()
    return email, number


def test_a_customer_signs_in_by_link_and_accepts_a_quote(
    browser_page, console_messages, live_app, owner_account
):
    page = browser_page
    email, number = _quote_for_a_portal_contact(live_app, owner_account)

    page.goto(f"/p/{owner_account.slug}/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.locator(".flash")).to_contain_text("sign-in link is on its way")

    with live_app.app_context():
        run_jobs(live_app)  # the worker
    [mail] = [m for m in sent_mails(Path(live_app.config["OUTBOX_DIR"])) if m["To"] == email]
    link = re.search(r"https?://\S+/sign-in/[\w-]+", mail.get_body(("plain",)).get_content())
    page.goto(link.group(0))
    page.get_by_role("button", name="Logg inn").click()  # the customer's language

    expect(page.get_by_role("heading", level=1)).to_have_text("Fjord Kafé AS")
    page.get_by_role("link", name=number).click()
    page.get_by_label("Fullt navn").fill("Ola Kafé")
    page.get_by_role("button", name="Godta tilbudet").click()
    expect(page.locator("#quote-answer")).to_contain_text("Godtatt")
    expect(page.locator("#quote-answer")).to_contain_text("Ola Kafé")
    assert [m for m in console_messages if "content security policy" in m.lower()] == []
