"""Search words carry their customer's name and archived flag, in a covering index.

The customer list's search then finds, filters, sorts and counts its matches in the
index of customer_search_terms alone, and loads only the page's customers.

Revision ID: 0005_search_terms_covering
Revises: 0004_documents
Create Date: 2026-11-30 12:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_search_terms_covering"
down_revision = "0004_documents"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customer_search_terms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("is_archived", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # Row-level security binds the owner too (FORCE): copy across every tenant with
        # it lifted, inside this migration's transaction only.
        op.execute("ALTER TABLE customer_search_terms NO FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE customers NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "UPDATE customer_search_terms SET"
        " name = (SELECT name FROM customers WHERE customers.id = customer_id),"
        " is_archived = (SELECT is_archived FROM customers WHERE customers.id = customer_id)"
    )
    if postgres:
        op.execute("ALTER TABLE customers FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE customer_search_terms FORCE ROW LEVEL SECURITY")
    with op.batch_alter_table("customer_search_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_search_terms_tenant_term")
        batch_op.create_index(
            "ix_customer_search_terms_covering",
            ["tenant_id", "term", "customer_id"],
            unique=False,
            postgresql_include=["is_archived", "name"],
        )


def downgrade():
    with op.batch_alter_table("customer_search_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_search_terms_covering")
        batch_op.create_index(
            "ix_customer_search_terms_tenant_term",
            ["tenant_id", "term", "customer_id"],
            unique=False,
        )
        batch_op.drop_column("is_archived")
        batch_op.drop_column("name")
