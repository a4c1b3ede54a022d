"""What a Stripe key, webhook signing secret or Connect account id must look like (pure).

Checked when a manager pastes them on the payments settings page, so that a publishable
key, a key cut short or an account id with a typo is refused at once, with a message
naming the field, rather than when the first customer tries to pay.
"""

from __future__ import annotations

import re

SECRET_KEY = re.compile(r"(sk|rk)_(test|live)_[0-9A-Za-z]{10,247}")
WEBHOOK_SECRET = re.compile(r"whsec_[0-9A-Za-z+/=_-]{10,200}")
ACCOUNT_ID = re.compile(r"acct_[0-9A-Za-z]{6,250}")


def secret_key_problem(value: str) -> str | None:
    """Why this is not a Stripe secret (or restricted) key, or None when it is one."""
    value = value.strip()
    if not value:
        return "Paste the secret key (it starts with sk_test_ or sk_live_)."
    if value.startswith("pk_"):
        return "That is the publishable key (pk_…). Paste the secret key: sk_test_… or sk_live_…."
    if value.startswith("whsec_"):
        return "That is a webhook signing secret. Paste it below; the secret key starts with sk_."
    if not SECRET_KEY.fullmatch(value):
        return (
            "A secret key starts with sk_test_ or sk_live_ (or rk_ for a restricted key)"
            " followed by letters and digits. Copy it again from Stripe's dashboard."
        )
    return None


def webhook_secret_problem(value: str) -> str | None:
    """Why this is not a webhook signing secret, or None when it is one."""
    value = value.strip()
    if not value:
        return "Paste the webhook signing secret (it starts with whsec_)."
    if not WEBHOOK_SECRET.fullmatch(value):
        return (
            "A webhook signing secret starts with whsec_. Stripe shows it on the"
            " endpoint's page, under Signing secret."
        )
    return None


def account_id_problem(value: str) -> str | None:
    """Why this is not a Stripe account id, or None when it is one."""
    value = value.strip()
    if not value:
        return "Enter the connected account's id (it starts with acct_)."
    if not ACCOUNT_ID.fullmatch(value):
        return "An account id looks like acct_1A2b3C4d5E6f7G8h: acct_ and letters and digits."
    return None


def is_live_key(secret_key: str) -> bool:
    """A live key moves real money; a test key (sk_test_, rk_test_) does not."""
    return secret_key.strip().startswith(("sk_live_", "rk_live_"))


def last4(value: str) -> str:
    """The last four characters: all that is ever shown again of a secret."""
    return value.strip()[-4:]
