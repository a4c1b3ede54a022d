"""Domain events: the outbox that webhooks and automations read

Revision ID: 0023_events
Revises: 0022_reports

"""

import sqlalchemy as sa
from alembic import op

from saas.tenants.scoping import enable_tenant_rls

# revision identifiers, used by Alembic.
revision = "0023_events"
down_revision = "0022_reports"
branch_labels = None
depends_on = None

PENDING = sa.text("dispatched_at IS NULL")


def upgrade():
    op.create_table(
        "domain_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_domain_events_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_events")),
    )
    op.create_index("ix_domain_events_pending", "domain_events", ["tenant_id", "id"],
                    unique=False, postgresql_where=PENDING, sqlite_where=PENDING)
    op.create_index("ix_domain_events_subject", "domain_events",
                    ["tenant_id", "subject_type", "subject_id"], unique=False)
    op.create_index(op.f("ix_domain_events_tenant_id"), "domain_events", ["tenant_id"],
                    unique=False)
    enable_tenant_rls(op, "domain_events")


def downgrade():
    op.drop_table("domain_events")
