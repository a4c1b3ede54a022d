"""A customer signs in to the portal by an e-mailed link and accepts a quote, in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from saas.billing.documents.states import DocumentKind
from tests.browser.portal_documents import issued_to_a_portal_contact
from tests.helpers import run_jobs, sent_mails

pytestmark = pytest.mark.browser


def test_a_customer_signs_in_by_link_and_accepts_a_quote(
    browser_page, console_messages, live_app, owner_account
):
    page = browser_page
    email, number, _ = issued_to_a_portal_contact(
        live_app, owner_account, DocumentKind.QUOTE, customer="Fjord Kafé AS",
        contact="Ola Kafé", line="Ny varmtvannsbereder", price="12490")

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
