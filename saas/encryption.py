"""Secrets stored encrypted at rest: tenants' Stripe keys, webhook secrets, SMTP passwords.

They must be readable again (to call Stripe, sign a webhook, log in to a mail server), so
they are encrypted, not hashed: Fernet (AES-128-CBC with an HMAC), through a MultiFernet
over the configured keys.

- ENCRYPTION_KEYS: Fernet keys, comma separated, newest first. The first encrypts; every
  one decrypts, so a new key can be put in front while values still carry the old one.
- STRIPE_KEYS_ENCRYPTION_KEY: the setting's old name, from when only Stripe keys were
  encrypted. Its keys still decrypt (after ENCRYPTION_KEYS'), and encrypt when
  ENCRYPTION_KEYS is unset, so an existing installation keeps working unchanged.
- Neither set (development, the demo): one key derived from SECRET_KEY, the same as
  ever, so what was stored before still decrypts. The word ``SECRET_KEY`` in the list
  stands for that derived key: an installation leaving it writes
  ``ENCRYPTION_KEYS=<new key>,SECRET_KEY`` and rotates.

``rotate_all`` (``flask secrets rotate``) re-encrypts every stored secret with the first
key. It finds them in ``ENCRYPTED_COLUMNS``; a test fails if a model has a ``*_encrypted``
column that is not listed there.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import select

from saas.extensions import db
from saas.tenants import scoping

# Every column holding a secret encrypted by this module, as (table, column). Rotation
# re-encrypts exactly these; every one belongs to a tenant-owned table.
ENCRYPTED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("stripe_connections", "secret_key_encrypted"),
    ("stripe_connections", "webhook_secret_encrypted"),
    ("webhook_endpoints", "secret_encrypted"),
    ("mail_servers", "password_encrypted"),
)
ENCRYPTED_SUFFIX = "_encrypted"
DERIVED_KEY_NAME = "SECRET_KEY"


class SecretUnreadable(RuntimeError):
    """A stored secret that none of the configured keys decrypts (a key was removed)."""


class KeysMisconfigured(RuntimeError):
    """ENCRYPTION_KEYS (or its old name) holds something that is not a Fernet key."""


def generate_key() -> str:
    """A new random Fernet key, as ENCRYPTION_KEYS takes it."""
    return Fernet.generate_key().decode()


def _derived_key() -> str:
    # The prefix is historical (Stripe keys came first); changing it would make every
    # secret stored in development unreadable.
    digest = hashlib.sha256(("stripe-keys:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _split(setting: str) -> list[tuple[str, str]]:
    value = current_app.config.get(setting) or ""
    return [(setting, key.strip()) for key in value.split(",") if key.strip()]


def configured_keys() -> list[str]:
    """The keys in use, newest (encrypting) first, without repeats."""
    named = _split("ENCRYPTION_KEYS") + _split("STRIPE_KEYS_ENCRYPTION_KEY")
    keys: list[str] = []
    for position, (setting, key) in enumerate(named or [("", DERIVED_KEY_NAME)], start=1):
        if key == DERIVED_KEY_NAME:
            key = _derived_key()
        else:
            _check_key(key, setting, position)
        if key not in keys:
            keys.append(key)
    return keys


def _check_key(key: str, setting: str, position: int) -> None:
    try:
        Fernet(key)
    except ValueError:
        raise KeysMisconfigured(
            f"Key {position} of {setting} is not a Fernet key (32 bytes in URL-safe"
            " base64, 44 characters). Make one with `flask secrets generate-key`."
        ) from None


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in configured_keys()])


def encrypt(secret: str) -> str:
    """Encrypt a secret with the newest key, for storing."""
    return _cipher().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """Read a stored secret back; SecretUnreadable if no configured key opens it."""
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with any configured key (ENCRYPTION_KEYS):"
            " the key it was encrypted with was removed or changed."
        ) from exc


# --- rotation -----------------------------------------------------------------------------


@dataclass
class Rotation:
    """What ``rotate_all`` did: values re-encrypted, and those no key opened."""

    rotated: int = 0
    unreadable: list[str] = field(default_factory=list)  # "tenant table.column #id"


def encrypted_models() -> list[tuple[type, str]]:
    """(model, attribute) of every registered column, resolved from the mapped tables."""
    by_table = {mapper.local_table.name: mapper.class_ for mapper in db.Model.registry.mappers}
    return [(by_table[table], column) for table, column in ENCRYPTED_COLUMNS]


def rotate_all(tenants: Iterable[tuple[int, str]],
               progress: Callable[[tuple[int, str]], None] = lambda tenant: None) -> Rotation:
    """Re-encrypt every stored secret of the tenants with the newest key (no commit).

    Each tenant is entered in turn: row-level security shows a tenant's rows only inside
    its context. Values are rewritten in the session as they go; when any value cannot be
    decrypted the caller rolls the whole transaction back, so nothing changes half way.
    """
    cipher, models, result = _cipher(), encrypted_models(), Rotation()
    for tenant_id, slug in tenants:
        with scoping.tenant_context(tenant_id):
            for model, column in models:
                _rotate_column(cipher, model, column, slug, result)
        progress((tenant_id, slug))
    return result


def _rotate_column(cipher: MultiFernet, model: type, column: str, slug: str,
                   result: Rotation) -> None:
    attribute = getattr(model, column)
    for row in db.session.scalars(select(model).where(attribute != "").order_by(model.id)):
        try:
            setattr(row, column, cipher.rotate(getattr(row, column).encode()).decode())
        except InvalidToken:
            result.unreadable.append(f"{slug} {model.__tablename__}.{column} #{row.id}")
        else:
            result.rotated += 1
