"""A large statement's sure matches are saved with its lines and booked after its import:
a pending line keeps its match (customer, shares, credit, rule) until it is booked

Revision ID: 0037_bank_booking_after
Revises: 0036_bank_candidates

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0037_bank_booking_after"
down_revision = "0036_bank_candidates"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bank_lines") as batch_op:
        batch_op.add_column(sa.Column("sure_match", sa.JSON(), nullable=True))


def downgrade():
    # Without the match kept, a line left to book waits for staff.
    op.execute("UPDATE bank_lines SET status = 'unmatched', matched_automatically = false"
               " WHERE status = 'pending'")
    with op.batch_alter_table("bank_lines") as batch_op:
        batch_op.drop_column("sure_match")
