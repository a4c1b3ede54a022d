"""A billing run's last sign of life, by which a run whose worker died is found

Revision ID: 0033_faults
Revises: 0032_tenant_smtp

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033_faults"
down_revision = "0032_tenant_smtp"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("billing_runs") as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("billing_runs") as batch_op:
        batch_op.drop_column("heartbeat_at")
