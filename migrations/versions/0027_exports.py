"""Accountant exports: a period's ZIP (documents, journal, e-invoices), stored in chunks

Revision ID: 0027_exports
Revises: 0022_reports

"""

import sqlalchemy as sa
from alembic import op

from saas.tenants.scoping import enable_tenant_rls

# revision identifiers, used by Alembic.
revision = "0027_exports"
down_revision = "0026_automations"
branch_labels = None
depends_on = None

TABLES = ("accountant_exports", "accountant_export_chunks")


def upgrade():
    op.create_table(
        "accountant_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("queued", "running", "done", "failed", name="exportstatus",
                    native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("date_from <= date_to",
                           name=op.f("ck_accountant_exports_period_in_order")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_accountant_exports_requested_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_accountant_exports_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accountant_exports")),
    )
    op.create_index("ix_accountant_exports_tenant_created", "accountant_exports",
                    ["tenant_id", "created_at"], unique=False)
    op.create_index(op.f("ix_accountant_exports_tenant_id"), "accountant_exports",
                    ["tenant_id"], unique=False)
    op.create_table(
        "accountant_export_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"], ["accountant_exports.id"],
            name=op.f("fk_accountant_export_chunks_export_id_accountant_exports"),
            ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_accountant_export_chunks_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accountant_export_chunks")),
        sa.UniqueConstraint(
            "tenant_id", "export_id", "position",
            name=op.f("uq_accountant_export_chunks_tenant_id_export_id_position")),
    )
    op.create_index(op.f("ix_accountant_export_chunks_tenant_id"), "accountant_export_chunks",
                    ["tenant_id"], unique=False)
    for table in TABLES:
        enable_tenant_rls(op, table)


def downgrade():
    op.drop_index(op.f("ix_accountant_export_chunks_tenant_id"),
                  table_name="accountant_export_chunks")
    op.drop_table("accountant_export_chunks")
    op.drop_index(op.f("ix_accountant_exports_tenant_id"), table_name="accountant_exports")
    op.drop_index("ix_accountant_exports_tenant_created", table_name="accountant_exports")
    op.drop_table("accountant_exports")
