"""The shapes of Stripe keys, webhook secrets and account ids (saas/portal/stripe_keys.py)."""

from __future__ import annotations

import pytest

from saas.portal.stripe_keys import (
    account_id_problem,
    is_live_key,
    last4,
    secret_key_problem,
    webhook_secret_problem,
)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("sk_test_51HqLyjWDarjtT1zdp7dc", None),
        ("  sk_live_51HqLyjWDarjtT1zdp7dc  ", None),
        ("rk_test_51HqLyjWDarjtT1zdp7dc", None),
        ("", "Paste the secret key"),
        ("pk_test_51HqLyjWDarjtT1zdp7dc", "publishable key"),
        ("whsec_abcdefghijklmnop", "webhook signing secret"),
        ("sk_test_short", "starts with sk_test_ or sk_live_"),
        ("sk_prod_51HqLyjWDarjtT1zdp7dc", "starts with sk_test_ or sk_live_"),
        ("sk_test_51HqLyj WDarjtT1zdp7dc", "starts with sk_test_ or sk_live_"),
    ],
)
def test_secret_keys(value, problem):
    found = secret_key_problem(value)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", None),
        ("", "Paste the webhook signing secret"),
        ("sk_test_51HqLyjWDarjtT1zdp7dc", "starts with whsec_"),
        ("whsec_", "starts with whsec_"),
    ],
)
def test_webhook_secrets(value, problem):
    found = webhook_secret_problem(value)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("acct_1A2b3C4d5E6f7G8h", None),
        ("", "starts with acct_"),
        ("acct_", "acct_ and letters"),
        ("acc_1A2b3C4d5E6f7G8h", "acct_ and letters"),
        ("acct_1A2b-3C4d", "acct_ and letters"),
    ],
)
def test_account_ids(value, problem):
    found = account_id_problem(value)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("key", "live"),
    [
        ("sk_live_51HqLyjWDarjtT1zdp7dc", True),
        ("rk_live_51HqLyjWDarjtT1zdp7dc", True),
        ("sk_test_51HqLyjWDarjtT1zdp7dc", False),
        ("rk_test_51HqLyjWDarjtT1zdp7dc", False),
    ],
)
def test_live_and_test_keys(key, live):
    assert is_live_key(key) is live


def test_only_the_last_four_characters_are_kept_to_show():
    assert last4(" sk_test_51HqLyjWDarjtT1zdp7dc ") == "p7dc"
