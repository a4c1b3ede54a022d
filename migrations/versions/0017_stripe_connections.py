"""Stripe connections per tenant (own keys or Connect); retries of stored events

Revision ID: 0017_stripe_connections
Revises: 0016_stripe_events
Create Date: 2026-11-30 19:26:00.272273

"""

import sqlalchemy as sa
from alembic import op

from saas.tenants.scoping import enable_tenant_rls

# revision identifiers, used by Alembic.
revision = "0017_stripe_connections"
down_revision = "0016_stripe_events"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stripe_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("own_keys", "connect", name="connectionkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("secret_key_encrypted", sa.Text(), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("secret_key_last4", sa.String(length=4), nullable=False),
        sa.Column("webhook_secret_last4", sa.String(length=4), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'own_keys' AND secret_key_encrypted <> '' AND webhook_secret_encrypted <> '')"
            " OR (kind = 'connect' AND account_id <> '')",
            name=op.f("ck_stripe_connections_kind_fits"),
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_id"],
            ["users.id"],
            name=op.f("fk_stripe_connections_saved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_stripe_connections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_connections")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_stripe_connections_tenant_id")),
    )
    op.create_index(
        op.f("ix_stripe_connections_tenant_id"), "stripe_connections", ["tenant_id"], unique=False
    )
    enable_tenant_rls(op, "stripe_connections")

    with op.batch_alter_table("stripe_events") as batch:
        batch.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "received",
                    "processed",
                    "failed",
                    name="eventstatus",
                    native_enum=False,
                    length=20,
                ),
                server_default="received",
                nullable=False,
            )
        )
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("last_error", sa.String(length=500), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_stripe_events_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(
            "ix_stripe_events_tenant_due", ["tenant_id", "status", "next_attempt_at"]
        )
        batch.create_index(
            "ix_stripe_events_tenant_customer", ["tenant_id", "customer_id", "received_at"]
        )
    # Events processed before statuses existed were processed once, for good.
    op.execute(
        "UPDATE stripe_events SET status = 'processed', attempts = 1 WHERE processed_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("stripe_events") as batch:
        batch.drop_index("ix_stripe_events_tenant_customer")
        batch.drop_index("ix_stripe_events_tenant_due")
        batch.drop_constraint(batch.f("fk_stripe_events_customer_id_customers"), type_="foreignkey")
        batch.drop_column("customer_id")
        batch.drop_column("next_attempt_at")
        batch.drop_column("last_error")
        batch.drop_column("attempts")
        batch.drop_column("status")
    op.drop_index(op.f("ix_stripe_connections_tenant_id"), table_name="stripe_connections")
    op.drop_table("stripe_connections")
