"""A company signs up in the browser, signs out, and signs in again."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in, unique
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_a_new_company_signs_up_signs_out_and_signs_in_again(browser_page, live_server):
    page = browser_page
    company, name = unique("Signup Test AS"), unique("Sigrid")
    email = f"signup-{uuid.uuid4().hex[:12]}@example.com"

    page.goto("/signup")
    page.get_by_label("Company name").fill(company)
    page.get_by_label("Country").select_option("NO")
    page.get_by_label("Currency").select_option("NOK")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(re.escape(live_server) + r"/t/[a-z0-9-]+/$"))
    dashboard_url = page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(company)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    with page.expect_response(dashboard_url) as dashboard:
        sign_in(page, email, PASSWORD)
    expect(page).to_have_url(dashboard_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(company)
    assert dashboard.value.status == 200
    assert "default-src 'self'" in dashboard.value.headers["content-security-policy"]
