"""API tokens for tests: made through the service, their text returned once as in life."""

from __future__ import annotations

from saas.api import tokens
from saas.api.models import IdempotencyKey, TokenScope
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant


def api_token(tenant: Tenant, scope: TokenScope = TokenScope.READ_WRITE,
              name: str = "Accounting sync") -> tuple[int, str]:
    """A live token of the tenant: its id and its text."""
    with scoping.tenant_context(tenant.id):
        new = tokens.create_token(name, scope)
        db.session.commit()
        return new.token.id, new.secret


def bearer(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


def api_idempotency_key(tenant: Tenant) -> IdempotencyKey:
    """A stored answer under an idempotency key, of a new token of the tenant."""
    token_id, _ = api_token(tenant)
    with scoping.tenant_context(tenant.id):
        key = IdempotencyKey(token_id=token_id, key="k-1", fingerprint="0" * 64,
                             response_status=201, response_body={"id": 1})
        db.session.add(key)
        db.session.commit()
        return key
