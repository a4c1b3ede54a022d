"""API tokens: made and revoked by a tenant's managers, checked on every API request.

The token text is ``fkt_<tenant id>_<secret>``. The tenant id comes first because the token
row itself is tenant-owned (row-level security hides it until the tenant is set); the
secret is 256 random bits, and only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from saas import clock
from saas.api.models import ApiToken, TokenScope
from saas.extensions import db
from saas.tenants import audit, scoping
from saas.tenants.models import Tenant
from saas.tenants.services import ServiceError

TOKEN_PATTERN = re.compile(r"fkt_(\d{1,12})_([A-Za-z0-9_-]{20,100})")
PREFIX_LENGTH = 8  # characters of the secret shown in lists


class TokenRefused(Exception):
    """The Authorization header holds no live token of any tenant."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token text: shown once, never stored


def hash_secret(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_token(name: str, scope: TokenScope | str, *, user_id: int | None = None) -> NewToken:
    """Make a token for the current tenant; the returned text is all anyone will see of it."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("Name the token after the application that will use it.")
    if len(name) > 100:
        raise ServiceError("A token's name is at most 100 characters.")
    try:
        scope = TokenScope(scope)
    except ValueError:
        raise ServiceError("Choose read or read and write.") from None
    tenant_id = scoping.require_tenant_id()
    head, secret = f"fkt_{tenant_id}_", secrets.token_urlsafe(32)
    text = head + secret
    token = ApiToken(name=name, scope=scope, prefix=head + secret[:PREFIX_LENGTH],
                     secret_hash=hash_secret(text), created_by_id=user_id)
    db.session.add(token)
    db.session.flush()
    audit.record("api.token_created", token, f"API token {name} ({scope.label.lower()}) made",
                 user_id=user_id)
    return NewToken(token, text)


def revoke_token(token: ApiToken, *, user_id: int | None = None) -> bool:
    """Stop a token working from now on; False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = clock.now()
    audit.record("api.token_revoked", token, f"API token {token.name} revoked", user_id=user_id)
    return True


def tokens_of_current_tenant() -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def tenant_of(text: str) -> int:
    """The tenant id a token text names (before anything is read), or TokenRefused."""
    match = TOKEN_PATTERN.fullmatch(text or "")
    if match is None:
        raise TokenRefused("The token is malformed.")
    return int(match.group(1))


def find_live_token(text: str) -> ApiToken:
    """The current tenant's unrevoked token with this text, or TokenRefused."""
    digest = hash_secret(text)
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_hash == digest))
    if token is None or not hmac.compare_digest(token.secret_hash, digest):
        raise TokenRefused("The token is not valid.")
    if token.revoked_at is not None:
        raise TokenRefused("The token was revoked.")
    if db.session.get(Tenant, token.tenant_id) is None:
        raise TokenRefused("The token is not valid.")
    return token
