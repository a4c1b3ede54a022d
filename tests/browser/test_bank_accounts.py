"""The bank-account form is checked in place by htmx, without reloading the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

INVALID_IBAN = "NO9386011117948"
VALID_IBAN, VALID_BIC = "NO9386011117947", "DNBANOKKXXX"


def _open_bank_accounts(page, account) -> None:
    page.goto(f"{account.home}settings/bank-accounts")
    expect(page.get_by_role("heading", name="Add a bank account")).to_be_visible()
    # A page load forgets this; an htmx swap does not.
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page) -> bool:
    return page.evaluate("window.__notReloaded === true")


def _submit(page, iban: str, bic: str = "") -> None:
    form = page.locator("#bank-account-form")
    form.get_by_label("IBAN", exact=True).fill(iban)
    form.get_by_label("BIC", exact=True).fill(bic)
    form.get_by_role("button", name="Add account").click()


def test_an_invalid_iban_is_reported_in_place_without_reloading_the_page(
    browser_page, signed_in_owner
):
    page = browser_page
    _open_bank_accounts(page, signed_in_owner)

    _submit(page, INVALID_IBAN, VALID_BIC)

    error = page.locator("#bank-account-form #iban-error")
    expect(error).to_contain_text("Not a valid IBAN")
    expect(page.get_by_label("IBAN", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("IBAN", exact=True)).to_have_value(INVALID_IBAN)
    assert _not_reloaded(page)
    expect(page.get_by_text("No bank account yet.")).to_be_visible()


def test_the_corrected_form_adds_the_account_and_the_page_reloads_with_it_listed(
    browser_page, signed_in_owner
):
    page = browser_page
    _open_bank_accounts(page, signed_in_owner)
    _submit(page, INVALID_IBAN, VALID_BIC)
    expect(page.locator("#iban-error")).to_contain_text("Not a valid IBAN")

    # The swapped-in form carries its own CSRF token and is wired by htmx again.
    _submit(page, VALID_IBAN, VALID_BIC)

    expect(page.get_by_text("Bank account added.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=VALID_IBAN)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(VALID_BIC)
    expect(page.locator("#iban-error")).to_have_count(0)
    # HX-Redirect made the browser load the page afresh.
    assert not _not_reloaded(page)
