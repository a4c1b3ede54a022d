"""Accessibility (issue 13): axe-core audits every main page of the staff app and the
portal in Chromium — no serious or critical violations, every form field labelled — and
the main forms work from the keyboard alone.

axe-core is the npm package (tests/browser/axe/, installed by `make install`), injected by
the test only; the app never serves it. The context bypasses the Content-Security-Policy
for that injection alone (the policy itself is tested in test_content_security_policy.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from saas.billing.customers.models import Contact
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.portal import links
from saas.tenants import scoping
from tests.browser.conftest import fresh_page, sign_in
from tests.browser.portal_documents import issued_to_a_portal_contact

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}
STAFF_PAGES = [
    "", "customers/", "customers/new", "products", "products/new", "price-lists",
    "vat-rates", "documents/invoices/", "documents/quotes/", "documents/invoices/new",
    "payments/", "bank/", "reminders/", "contracts/", "recurring/", "work/items",
    "collection/", "reports/sales", "reports/unpaid", "reports/ageing", "todos/",
    "settings", "settings/branding", "settings/bank-accounts", "settings/payments",
    "settings/email", "members", "imports", "audit",
]


@pytest.fixture()
def audited_page(chromium, live_server):
    """A page in a context where the test may inject axe-core despite the page's CSP."""
    if not AXE.exists():
        reason = "the accessibility audit needs axe-core: run `make install` (needs npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with fresh_page(chromium, live_server, bypass_csp=True) as page:
        yield page


def violations(page) -> list[str]:
    """The serious and critical axe-core violations of the page, one line each."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{page.url}: {v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(node["target"][0] for node in v["nodes"][:3])
            for v in result["violations"] if v["impact"] in SERIOUS]


def test_the_staff_app_has_no_serious_accessibility_violations(
        audited_page, live_app, owner_account):
    page = audited_page
    _, number, _ = issued_to_a_portal_contact(
        live_app, owner_account, DocumentKind.INVOICE, customer="Tilgjengelig AS",
        contact="Kari Nordmann", line="Service", price="1000")
    sign_in(page, owner_account.email, owner_account.password)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    found: list[str] = []
    for path in STAFF_PAGES:
        response = page.goto(f"{owner_account.home}{path}")
        assert response.status == 200, path
        found += violations(page)
    # A document's own page and a customer's page, reached as a user would.
    page.goto(f"{owner_account.home}documents/invoices/")
    page.get_by_role("link", name=number).click()
    found += violations(page)
    page.get_by_role("link", name="Tilgjengelig AS").first.click()
    found += violations(page)
    assert found == [], "\n".join(found)


def test_the_portal_and_the_sign_in_pages_have_no_serious_accessibility_violations(
        audited_page, live_app, owner_account):
    page = audited_page
    email, number, _ = issued_to_a_portal_contact(
        live_app, owner_account, DocumentKind.INVOICE, customer="Portal Tilgang AS",
        contact="Per Portal", line="Rørarbeid", price="2500")
    found: list[str] = []
    for path in ("/login", "/signup", "/password/forgot", f"/p/{owner_account.slug}/"):
        page.goto(path)
        found += violations(page)
    with live_app.app_context(), scoping.tenant_context(owner_account.tenant_id):
        contact = db.session.query(Contact).filter_by(email=email).one()
        url = links.sign_in_url(contact)
        db.session.commit()
    page.goto(url)
    page.get_by_role("button").first.click()
    found += violations(page)  # the customer's home: documents and balance
    page.get_by_role("link", name=number).click()
    found += violations(page)  # the invoice with its Pay button
    page.goto(f"/p/{owner_account.slug}/statement")
    found += violations(page)
    assert found == [], "\n".join(found)


def test_signing_in_and_adding_a_customer_work_from_the_keyboard(
        browser_page, live_server, owner_account):
    page = browser_page
    page.goto("/login")
    page.keyboard.press("Tab")  # the skip link or the first field, then on to the form
    email = page.get_by_label("E-mail")
    email.focus()
    page.keyboard.type(owner_account.email)
    page.keyboard.press("Tab")
    page.keyboard.type(owner_account.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server + owner_account.home)

    page.goto(f"{owner_account.home}customers/new")
    page.get_by_label("Name").first.focus()
    page.keyboard.type("Tastatur AS")
    # Tab through the form to its submit button and press it, without the mouse.
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => [document.activeElement.tagName, document.activeElement.type || '',"
            " document.activeElement.textContent.trim()]")
        if focused[0] == "BUTTON" and focused[1] == "submit":
            break
    else:
        pytest.fail("the customer form's submit button is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tastatur AS")
