"""The API's own records: tokens other applications sign in with, and idempotency keys.

An ``ApiToken`` is shown once when it is made; only the SHA-256 of its secret is stored, so
a copy of the database opens nothing. The token text carries its tenant's id in the clear
(``fkt_<tenant id>_<secret>``): the tenant must be known before a tenant-owned row can be
read under row-level security.

An ``IdempotencyKey`` remembers the answer to a POST sent with an ``Idempotency-Key``
header, so that a client retrying after a lost answer does not do the work twice.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.models import User, utcnow
from saas.tenants.scoping import TenantScoped


class TokenScope(enum.StrEnum):
    READ = "read"
    READ_WRITE = "read_write"

    @property
    def label(self) -> str:
        return {"read": "Read only", "read_write": "Read and write"}[self.value]


class ApiToken(TenantScoped, db.Model):
    """A secret another application sends as ``Authorization: Bearer <token>``."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("tenant_id", "secret_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[TokenScope] = mapped_column(string_enum(TokenScope))
    # The first characters of the token, shown in lists so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(24))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_by: Mapped[User | None] = relationship()

    @property
    def may_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE


class IdempotencyKey(TenantScoped, db.Model):
    """The stored answer to one POST of one token under one client-chosen key."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_id", "key"),
        Index("ix_api_idempotency_keys_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column()
    response_body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
