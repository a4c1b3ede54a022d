"""A manager connects the company's own Stripe keys on the settings page, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete

from saas.extensions import db
from saas.portal.models import StripeConnection
from saas.tenants import scoping

pytestmark = pytest.mark.browser

KEY = "sk_test_51BrowserTestKey00000000q7Zk"
SECRET = "whsec_BrowserTestSigningSecret00Wm3p"


@pytest.fixture()
def keys_removed_after(live_app, signed_in_owner):
    """Browser tests commit: keys left behind would be read by other tests' reconciling."""
    yield
    with live_app.app_context(), scoping.tenant_context(signed_in_owner.tenant_id):
        db.session.execute(delete(StripeConnection))
        db.session.commit()


def test_a_manager_saves_own_test_keys_and_sees_them_only_by_their_last_characters(
    browser_page, console_messages, signed_in_owner, keys_removed_after
):
    page = browser_page
    page.goto(f"/t/{signed_in_owner.slug}/settings")
    page.get_by_role("link", name="Online payments").click()
    expect(page.locator("#webhook-url")).to_contain_text(f"/stripe/webhook/{signed_in_owner.slug}")

    # A publishable key by mistake: refused, the field named, nothing kept in the form.
    page.get_by_label("Secret key").fill("pk_test_51BrowserTestKey00000000q7Zk")
    page.get_by_label("Webhook signing secret").fill(SECRET)
    page.get_by_role("button", name="Save keys").click()
    expect(page.locator("#own-keys .error")).to_contain_text("publishable key")
    expect(page.get_by_label("Secret key")).to_have_value("")

    page.get_by_label("Secret key").fill(KEY)
    page.get_by_label("Webhook signing secret").fill(SECRET)
    page.get_by_role("button", name="Save keys").click()

    expect(page.locator(".flash")).to_contain_text("Your Stripe keys are saved (test mode)")
    account = page.locator("#payment-account")
    expect(account.locator(".test-mode")).to_have_text("Test mode")
    expect(account).to_contain_text("…q7Zk")
    expect(account).to_contain_text("…Wm3p")
    assert KEY not in page.content() and SECRET not in page.content()

    page.get_by_role("button", name="Remove your keys").click()
    expect(page.locator("#payment-account")).to_contain_text("Card payments are off")
    assert [m for m in console_messages if "content security policy" in m.lower()] == []
