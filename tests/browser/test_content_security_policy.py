"""The app runs under its Content-Security-Policy: no inline script or style is blocked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saas.tenants.models import Role
from tests.browser.conftest import add_member

pytestmark = pytest.mark.browser


def _csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if "content security policy" in m.lower()]


def test_pages_and_htmx_swaps_cause_no_content_security_policy_violations(
    browser_page, console_messages, live_app, signed_in_owner
):
    page, home = browser_page, signed_in_owner.home
    membership_id, name = add_member(live_app, signed_in_owner, Role.VIEWER)

    for path, heading in [
        ("", signed_in_owner.company),
        ("settings", "Settings"),
        ("settings/branding", "Settings"),
        ("settings/bank-accounts", "Settings"),
    ]:
        page.goto(home + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)

    # htmx: a form swapped in place with errors.
    page.get_by_label("IBAN", exact=True).fill("NO9386011117948")
    page.get_by_role("button", name="Add account").click()
    expect(page.locator("#iban-error")).to_be_visible()

    # htmx: a table row swapped.
    page.goto(home + "members")
    row = page.locator(f"#member-{membership_id}")
    row.get_by_label(f"Role of {name}").select_option("staff")
    row.get_by_role("button", name="Change").click()
    expect(row.get_by_label(f"Role of {name}")).to_have_value("staff")

    # htmx: search as you type, with the indicator and the URL pushed.
    page.goto(home + "audit")
    page.get_by_label("Search").fill("signed up")
    expect(page).to_have_url(re.compile(r"\?q=signed"))
    expect(page.locator("#audit-rows")).to_contain_text("signed up")
    page.get_by_label("Search").fill("no-such-entry")
    expect(page.locator("#audit-rows")).to_contain_text("No entries match")

    assert _csp_violations(console_messages) == []
    assert page.evaluate("typeof htmx") == "object", "htmx did not load"
