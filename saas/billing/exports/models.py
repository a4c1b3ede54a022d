"""An accountant export and the stored ZIP it made.

The ZIP is stored where the app stores PDFs, in the database, but in 1 MiB chunks of its
own table: a big period's file is written and read a chunk at a time, never whole in
memory, and never in Redis. The chunks are written in the same transaction that marks the
export done, so nobody sees half a file.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.models import User, utcnow
from saas.tenants.scoping import TenantScoped


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AccountantExport(TenantScoped, db.Model):
    """One period's documents, journal and e-invoices for the accountant, as a ZIP."""

    __tablename__ = "accountant_exports"
    __table_args__ = (
        Index("ix_accountant_exports_tenant_created", "tenant_id", "created_at"),
        CheckConstraint("date_from <= date_to", name="period_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)  # inclusive
    status: Mapped[ExportStatus] = mapped_column(string_enum(ExportStatus),
                                                 default=ExportStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)  # documents to write
    done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    requested_by: Mapped[User | None] = relationship()

    @property
    def is_over(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)


class ExportChunk(TenantScoped, db.Model):
    """One piece of an export's ZIP, in order."""

    __tablename__ = "accountant_export_chunks"
    __table_args__ = (UniqueConstraint("tenant_id", "export_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(
        ForeignKey("accountant_exports.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
