"""Secrets encrypted at rest (saas.encryption) and `flask secrets rotate`.

Rotation runs through the real CLI in the test's app context, so it uses the test's
session: what it commits is released into the test's transaction, and a refusal rolls
back only what the command did.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from saas import encryption
from saas.api.webhooks.services import secret_of
from saas.extensions import db
from saas.portal import stripe_connections
from saas.tenants import mail_servers, scoping
from saas.tenants.models import Tenant
from tests.factories import TenantFactory
from tests.factories_mail import PASSWORD, MailServerFactory
from tests.factories_webhooks import SECRET, WebhookEndpointFactory

OWN_KEY = "sk_test_51OwnKeyOfNordlys0000abcd"
OWN_SECRET = "whsec_OwnSigningSecretOfNordlys9xyz"


def use_keys(app, monkeypatch, encryption_keys: str | None,
             stripe_keys: str | None = None) -> None:
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", encryption_keys)
    monkeypatch.setitem(app.config, "STRIPE_KEYS_ENCRYPTION_KEY", stripe_keys)


def new_key() -> str:
    return Fernet.generate_key().decode()


# --- the registry ---------------------------------------------------------------------------


def test_every_encrypted_column_of_every_model_is_registered_for_rotation(app):
    found = {
        (mapper.local_table.name, column.name)
        for mapper in db.Model.registry.mappers
        for column in mapper.local_table.columns
        if column.name.endswith(encryption.ENCRYPTED_SUFFIX)
    }
    assert found == set(encryption.ENCRYPTED_COLUMNS)


# --- which keys -----------------------------------------------------------------------------


def test_without_keys_the_development_key_is_derived_from_secret_key_as_before(
    app, db_session, monkeypatch
):
    use_keys(app, monkeypatch, None)
    # How stripe_connections derived it before there was a secrets module.
    digest = hashlib.sha256(("stripe-keys:" + app.config["SECRET_KEY"]).encode()).digest()
    earlier = Fernet(base64.urlsafe_b64encode(digest))
    assert encryption.decrypt(earlier.encrypt(b"stored long ago").decode()) == "stored long ago"
    assert earlier.decrypt(encryption.encrypt("new").encode()) == b"new"


def test_the_old_setting_still_encrypts_alone_and_decrypts_after_the_new_one(
    app, db_session, monkeypatch
):
    old, new = new_key(), new_key()
    use_keys(app, monkeypatch, None, stripe_keys=old)
    token = encryption.encrypt("sk_test_stored")
    assert Fernet(old).decrypt(token.encode()) == b"sk_test_stored"

    use_keys(app, monkeypatch, new, stripe_keys=old)
    assert encryption.decrypt(token) == "sk_test_stored"
    assert Fernet(new).decrypt(encryption.encrypt("fresh").encode()) == b"fresh"


def test_secret_key_in_the_list_stands_for_the_development_key(app, db_session, monkeypatch):
    use_keys(app, monkeypatch, None)
    from_development = encryption.encrypt("made in the demo")
    use_keys(app, monkeypatch, f"{new_key()},SECRET_KEY")
    assert encryption.decrypt(from_development) == "made in the demo"


def test_a_key_that_is_not_a_fernet_key_is_refused_by_position(app, db_session, monkeypatch):
    use_keys(app, monkeypatch, f"{new_key()}, not-a-key")
    with pytest.raises(encryption.KeysMisconfigured, match="Key 2 of ENCRYPTION_KEYS"):
        encryption.encrypt("anything")
    result = app.test_cli_runner().invoke(args=["secrets", "rotate"])
    assert result.exit_code == 1 and "Key 2 of ENCRYPTION_KEYS is not a Fernet key" in result.output


def test_a_value_no_key_opens_is_unreadable(app, db_session, monkeypatch):
    use_keys(app, monkeypatch, new_key())
    token = encryption.encrypt("x")
    use_keys(app, monkeypatch, new_key())
    with pytest.raises(encryption.SecretUnreadable, match="cannot be decrypted"):
        encryption.decrypt(token)


def test_generate_key_prints_a_fernet_key(app):
    result = app.test_cli_runner().invoke(args=["secrets", "generate-key"])
    assert result.exit_code == 0
    Fernet(result.output.strip())  # raises if it is not one


# --- rotation -------------------------------------------------------------------------------


@pytest.fixture()
def stored(app, db_session, monkeypatch):
    """Secrets of every kind in two tenants, encrypted with the old key (committed)."""
    old = new_key()
    use_keys(app, monkeypatch, old)
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    with scoping.tenant_context(tenant_a.id):
        stripe_connections.save_own_keys(OWN_KEY, OWN_SECRET)
    for tenant in (tenant_a, tenant_b):
        WebhookEndpointFactory(tenant=tenant)
        MailServerFactory(tenant=tenant)
    db.session.commit()
    return {"old": old, "tenants": [tenant_a.id, tenant_b.id]}


def every_stored_value() -> dict[tuple[int, str, str, int], str]:
    """Every registered encrypted value of every tenant, by (tenant, table, column, id)."""
    values = {}
    with scoping.all_tenants():
        tenant_ids = db.session.scalars(select(Tenant.id)).all()
    for tenant_id in tenant_ids:
        with scoping.tenant_context(tenant_id):
            for model, column in encryption.encrypted_models():
                for row in db.session.scalars(select(model)):
                    if getattr(row, column):
                        values[(tenant_id, model.__tablename__, column, row.id)] = getattr(
                            row, column)
    return values


def readable_in(tenant_id: int) -> tuple[str, str, str, str]:
    """What the app reads back in the tenant: Stripe key and secret, webhook, SMTP password."""
    with scoping.tenant_context(tenant_id):
        account = stripe_connections.account_of_current_tenant()
        endpoint = db.session.scalar(select(WebhookEndpointFactory._meta.model))
        server, _ = mail_servers.outgoing_of_current_tenant()
        return (account.secret_key if account else "",
                stripe_connections.webhook_secret_of_current_tenant() or "",
                secret_of(endpoint), server.password)


def test_rotation_re_encrypts_everything_so_the_new_key_alone_reads_it(
    app, stored, monkeypatch
):
    old, new = stored["old"], new_key()
    use_keys(app, monkeypatch, f"{new},{old}")
    before = every_stored_value()

    result = app.test_cli_runner().invoke(args=["secrets", "rotate"])

    assert result.exit_code == 0, result.output
    assert f"Re-encrypted {len(before)} secrets" in result.output
    after = every_stored_value()
    assert after.keys() == before.keys()
    for where, token in after.items():
        assert token != before[where], where
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(token.encode())
    use_keys(app, monkeypatch, new)  # the old key removed
    tenant_a, tenant_b = stored["tenants"]
    assert readable_in(tenant_a) == (OWN_KEY, OWN_SECRET, SECRET, PASSWORD)
    assert readable_in(tenant_b) == ("", "", SECRET, PASSWORD)


def test_rotation_with_a_key_set_that_cannot_read_a_value_refuses_and_changes_nothing(
    app, stored, monkeypatch
):
    use_keys(app, monkeypatch, f"{new_key()},{new_key()}")  # the old key is missing
    before = every_stored_value()

    result = app.test_cli_runner().invoke(args=["secrets", "rotate"])

    assert result.exit_code == 1
    assert f"{len(before)} stored secrets cannot be decrypted" in result.output
    assert "Nothing was changed" in result.output
    assert every_stored_value() == before
    use_keys(app, monkeypatch, stored["old"])
    assert readable_in(stored["tenants"][0]) == (OWN_KEY, OWN_SECRET, SECRET, PASSWORD)
