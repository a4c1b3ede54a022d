"""Tenants' own outgoing mail servers (SMTP), the password stored encrypted

Revision ID: 0032_tenant_smtp
Revises: 0029_deferred_jobs

"""

import sqlalchemy as sa
from alembic import op

from saas.tenants.scoping import enable_tenant_rls

# revision identifiers, used by Alembic.
revision = "0032_tenant_smtp"
down_revision = "0029_deferred_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_servers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column(
            "security",
            sa.Enum("starttls", "ssl", "none", name="smtpsecurity", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("password_last4", sa.String(length=4), nullable=False),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "port BETWEEN 1 AND 65535", name=op.f("ck_mail_servers_port_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_id"],
            ["users.id"],
            name=op.f("fk_mail_servers_saved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_mail_servers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_servers")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_mail_servers_tenant_id")),
    )
    enable_tenant_rls(op, "mail_servers")


def downgrade():
    op.drop_table("mail_servers")
