"""Document list speed: an index in the list's order, and the per-status index covers the sums

Revision ID: 0034_list_speed
Revises: 0033_faults

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0034_list_speed"
down_revision = "0033_faults"
branch_labels = None
depends_on = None

# The list's order (drafts on top, newest first), read backwards: a page is the first rows of
# the index instead of a sort of every document of the kind.
LIST_ORDER = ["tenant_id", "kind", sa.text("(number IS NULL)"), "issue_date", "id"]
# What the list's sums read, so that they are read from the index alone.
SUMMED = ["net_total", "gross_total"]


def upgrade():
    op.create_index("ix_documents_list_order", "documents", LIST_ORDER, unique=False)
    op.drop_index("ix_documents_tenant_kind_status", table_name="documents")
    op.create_index(
        "ix_documents_tenant_kind_status",
        "documents",
        ["tenant_id", "kind", "status", "currency"],
        unique=False,
        postgresql_include=SUMMED,
    )


def downgrade():
    op.drop_index("ix_documents_tenant_kind_status", table_name="documents")
    op.create_index(
        "ix_documents_tenant_kind_status", "documents", ["tenant_id", "kind", "status"],
        unique=False,
    )
    op.drop_index("ix_documents_list_order", table_name="documents")
