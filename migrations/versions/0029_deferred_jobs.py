"""Jobs that could not reach Redis, kept until it answers again

Revision ID: 0029_deferred_jobs
Revises: 0023_events

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029_deferred_jobs"
down_revision = "0028_bank_speed"
branch_labels = None
depends_on = None


def upgrade():
    # Not a tenant's table: jobs of every tenant (and of none) wait here, holding only a
    # function's name, ids and a queue name.
    op.create_table(
        "deferred_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(length=200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=True),
        sa.Column("retry_intervals", sa.JSON(), nullable=True),
        sa.Column("unique", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deferred_jobs")),
    )


def downgrade():
    op.drop_table("deferred_jobs")
