"""The demo's API token: made anew at each `flask demo seed`, since only its hash is kept
(the one made before is revoked), and printed with a curl example."""

from __future__ import annotations

from sqlalchemy import select

from saas.api import tokens
from saas.api.models import ApiToken, TokenScope
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

DEMO_TOKEN_NAME = "Demo integration"


def demo_api_token(tenant_slug: str) -> str | None:
    """A new read and write token of the demo company; the text, shown once."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        return None
    with scoping.tenant_context(tenant.id):
        for old in db.session.scalars(select(ApiToken).where(
                ApiToken.name == DEMO_TOKEN_NAME, ApiToken.revoked_at.is_(None))):
            tokens.revoke_token(old)
        return tokens.create_token(DEMO_TOKEN_NAME, TokenScope.READ_WRITE).secret
