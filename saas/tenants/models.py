"""Tenants, users, memberships, invitations, branding, bank accounts, the outgoing mail
server and the audit log."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.scoping import TenantScoped


def utcnow() -> datetime:
    return datetime.now(UTC)


class TenantKind(enum.StrEnum):
    BUSINESS = "business"
    BUREAU = "bureau"


class BureauMode(enum.StrEnum):
    """How a bureau serves a client company (R8.1, R8.2)."""

    # The bureau's staff do the client's invoicing in its name.
    OPERATED = "operated"
    # The client invoices itself; the bureau's staff look on to support it (read only).
    SELF_SERVICE = "self_service"

    @property
    def label(self) -> str:
        return {"operated": "Operated by the bureau",
                "self_service": "Self-service with bureau support"}[self.value]


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ACCOUNTANT = "accountant"
    STAFF = "staff"
    COLLECTOR = "collector"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Tenant(db.Model):
    """A company using the product: a self-serve business or an invoicing bureau."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TenantKind] = mapped_column(string_enum(TenantKind))
    legal_name: Mapped[str] = mapped_column(String(200), default="")
    org_number: Mapped[str] = mapped_column(String(40), default="")
    vat_id: Mapped[str] = mapped_column(String(40), default="")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="NO")
    default_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Oslo")
    # The bureau that serves this client company, if any (R8).
    bureau_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    bureau_mode: Mapped[BureauMode] = mapped_column(
        string_enum(BureauMode), default=BureauMode.OPERATED, server_default="operated")
    # Billing runs (R4.2): issue the invoices (else drafts), one per customer (else per contract).
    runs_issue: Mapped[bool] = mapped_column(default=False, server_default=false())
    runs_consolidate: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Payment references (R6.2): kid_mod10, kid_mod11, rf or invoice_number; KID length.
    reference_scheme: Mapped[str] = mapped_column(String(20), default="invoice_number",
                                                  server_default="invoice_number")
    reference_length: Mapped[int] = mapped_column(default=10, server_default="10")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    bureau: Mapped[Tenant | None] = relationship(remote_side=[id])

    @property
    def display_name(self) -> str:
        return self.legal_name or self.name

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class User(UserMixin, db.Model):
    """A person who signs in to the staff app; belongs to tenants through memberships."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active_user: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_user

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(TenantScoped, db.Model):
    """A user's role in one tenant."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(string_enum(Role))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship()
    tenant: Mapped[Tenant] = relationship()


class Invitation(TenantScoped, db.Model):
    """An e-mailed invitation to join a tenant with a role; accepted by a signed link."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_tenant_email", "tenant_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(string_enum(Role))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    invited_by: Mapped[User | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class Branding(TenantScoped, db.Model):
    """How a tenant looks on documents, e-mails and the portal."""

    __tablename__ = "brandings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    primary_color: Mapped[str] = mapped_column(String(7), default="#1f4e79")
    footer_text: Mapped[str] = mapped_column(Text, default="")
    email_sender_name: Mapped[str] = mapped_column(String(200), default="")
    # Where customers' replies to the tenant's e-mails go (blank: the sender address).
    reply_to: Mapped[str] = mapped_column(String(254), default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_mime: Mapped[str | None] = mapped_column(String(20))
    logo_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class SmtpSecurity(enum.StrEnum):
    """How the connection to a mail server is protected."""

    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (port 587)
    SSL = "ssl"  # TLS from the first byte (SMTPS, port 465)
    NONE = "none"  # no encryption (a relay on the local network; port 25)


class MailServer(TenantScoped, db.Model):
    """The tenant's own outgoing mail server: when set, all its mail is sent through it.

    The password is stored encrypted (``saas.encryption``) and never shown again: the page
    shows its last characters and when it was saved. Without a row the tenant's mail goes
    through the platform's server (SMTP_URL) from MAIL_FROM.
    """

    __tablename__ = "mail_servers"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int]
    security: Mapped[SmtpSecurity] = mapped_column(string_enum(SmtpSecurity))
    username: Mapped[str] = mapped_column(String(255), default="")
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    password_last4: Mapped[str] = mapped_column(String(4), default="")
    from_address: Mapped[str] = mapped_column(String(254))
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class BankAccount(TenantScoped, db.Model):
    """A bank account of the tenant, printed on documents for payment."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "bank_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    iban: Mapped[str] = mapped_column(String(34), default="")
    bban: Mapped[str] = mapped_column(String(40), default="")
    bic: Mapped[str] = mapped_column(String(11), default="")
    currency: Mapped[str] = mapped_column(String(3))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(TenantScoped, db.Model):
    """Who did what to which object, in which tenant, acting for whom, when."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Set when a bureau's staff acted in a client's name: the bureau tenant.
    acting_tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(80), default="")
    object_id: Mapped[str] = mapped_column(String(80), default="")
    summary: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()
    acting_tenant: Mapped[Tenant | None] = relationship(foreign_keys=[acting_tenant_id])


class BureauAssignment(TenantScoped, db.Model):
    """A bureau member who works for one of the bureau's client companies (R8).

    Owned by the bureau (``tenant_id``). The member needs no login or membership in the
    client: ``bureau_access`` derives the role they act with there from their role in the
    bureau. Owners and admins of the bureau serve every client and need no assignment.
    """

    __tablename__ = "bureau_assignments"
    __table_args__ = (UniqueConstraint("tenant_id", "client_tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    client: Mapped[Tenant] = relationship(foreign_keys=[client_tenant_id])
