"""Changing a member's role swaps only that member's row."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.tenants.models import Role
from tests.browser.conftest import add_member

pytestmark = pytest.mark.browser


def _open_members(page, account) -> None:
    page.goto(f"{account.home}members")
    expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    # Tag every row: a row replaced by a swap comes back without the tag.
    page.evaluate(
        "document.querySelectorAll('tr[id^=member-]').forEach(r => r.dataset.original = 'yes')"
    )


def test_changing_a_members_role_swaps_only_that_members_row(
    browser_page, live_app, signed_in_owner
):
    page = browser_page
    membership_id, name = add_member(live_app, signed_in_owner, Role.STAFF)
    _open_members(page, signed_in_owner)
    row = page.locator(f"#member-{membership_id}")
    other_rows = page.locator(f"tr[id^=member-]:not(#member-{membership_id})")
    expect(other_rows).to_have_count(1)

    row.get_by_label(f"Role of {name}").select_option("accountant")
    row.get_by_role("button", name="Change").click()

    expect(row).not_to_have_attribute("data-original", "yes")
    expect(row.get_by_label(f"Role of {name}")).to_have_value("accountant")
    expect(other_rows).to_have_attribute("data-original", "yes")
    assert page.evaluate("window.__notReloaded === true")

    page.reload()
    expect(row.get_by_label(f"Role of {name}")).to_have_value("accountant")


def test_a_refused_role_change_shows_the_reason_in_the_row(browser_page, signed_in_owner):
    page = browser_page
    _open_members(page, signed_in_owner)
    own_row = page.get_by_role("row").filter(has_text=signed_in_owner.email)

    own_row.get_by_label(f"Role of {signed_in_owner.name}").select_option("staff")
    own_row.get_by_role("button", name="Change").click()

    expect(own_row.get_by_role("alert")).to_have_text("A company needs at least one owner.")
    expect(own_row).not_to_have_attribute("data-original", "yes")
    expect(own_row.get_by_label(f"Role of {signed_in_owner.name}")).to_have_value("owner")
    assert page.evaluate("window.__notReloaded === true")
