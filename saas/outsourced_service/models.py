"""The bureau's own records (R8): its clients, what it did for them, its print runs.

All of them belong to the bureau's tenant. Which bureau serves a company, in which mode,
is on the company itself (``Tenant.bureau_id``, ``Tenant.bureau_mode``), and which bureau
members work for it in ``BureauAssignment`` (``saas/tenants``): that is what decides who
is let in. What is here is the bureau's business with its clients.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from saas.billing.customers.models import Customer
from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.models import Tenant, User, utcnow
from saas.tenants.scoping import TenantScoped

OPEN_SQL = "ended_at IS NULL"


class Side(enum.StrEnum):
    """Which side started or ended the service."""

    BUREAU = "bureau"
    CLIENT = "client"


class BureauClient(TenantScoped, db.Model):
    """A company the bureau serves, from when to when: its register of clients.

    Started when the bureau onboards a new company (``started_by_side`` bureau) or a company
    grants the bureau access with its invite code (client); either side ends it. The client
    is a customer of the bureau too (``customer_id``), billed the fees chosen here.
    """

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "bureau_clients"
    __table_args__ = (
        # One open service per client; the ended ones stay as its history.
        Index("uq_bureau_clients_open", "tenant_id", "client_tenant_id", unique=True,
              postgresql_where=text(OPEN_SQL), sqlite_where=text(OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_by_side: Mapped[Side] = mapped_column(string_enum(Side))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by_side: Mapped[Side | None] = mapped_column(string_enum(Side))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Which fees the client pays (R8): per document issued, per letter posted, per bank
    # line matched, and a monthly fee; products and prices come from the bureau's billing
    # rules for the fee events and its price terms for the customer (``fees.py``).
    fee_documents: Mapped[bool] = mapped_column(default=True)
    fee_letters: Mapped[bool] = mapped_column(default=True)
    fee_bank_lines: Mapped[bool] = mapped_column(default=True)
    fee_monthly: Mapped[bool] = mapped_column(default=True)

    client: Mapped[Tenant] = relationship(foreign_keys=[client_tenant_id])
    customer: Mapped[Customer] = relationship()
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class BureauActivity(TenantScoped, db.Model):
    """What was done for a client in a month, counted when the month is recorded: the
    quantities of the bureau's fees. Recording the month again counts again (same row)."""

    __tablename__ = "bureau_activities"
    __table_args__ = (
        UniqueConstraint("tenant_id", "client_tenant_id", "period_start"),
        CheckConstraint("period_end > period_start", name="period_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    bureau_client_id: Mapped[int] = mapped_column(
        ForeignKey("bureau_clients.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    # The days of the month the client was served (the counts cover those days only).
    served_from: Mapped[date] = mapped_column(Date)
    served_until: Mapped[date] = mapped_column(Date)  # exclusive
    documents: Mapped[int] = mapped_column(default=0)
    letters: Mapped[int] = mapped_column(default=0)
    bank_lines: Mapped[int] = mapped_column(default=0)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    client: Mapped[Tenant] = relationship(foreign_keys=[client_tenant_id])
    bureau_client: Mapped[BureauClient] = relationship()

    @property
    def last_served_day(self) -> date:
        return self.served_until - timedelta(days=1)


class BureauPostBatch(TenantScoped, db.Model):
    """One print run across the bureau's clients: each client's own post batch (made in the
    client, in its name), one after the other sorted by client, in one merged PDF."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "bureau_post_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    printed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pieces: Mapped[int] = mapped_column(default=0)
    # In print order: {"client_tenant_id", "client", "post_batch_id", "pieces"}.
    parts: Mapped[list] = mapped_column(JSON, default=list)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))

    created_by: Mapped[User | None] = relationship()
