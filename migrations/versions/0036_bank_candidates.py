"""Bank matching's look-ups by index: open invoices by payment reference, by number (case
folded) and by open amount, and earlier lines by the payer's account. The number in lower
case and the open amount as an integer are columns the database keeps (generated), because
under row-level security PostgreSQL uses an index only for conditions of leakproof
functions, which lower() and numeric's operators are not

Revision ID: 0036_bank_candidates
Revises: 0035_bank_speed2

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0036_bank_candidates"
down_revision = "0035_bank_speed2"
branch_labels = None
depends_on = None

OPEN = "kind = 'invoice' AND status IN ('issued', 'partly_paid')"
# (index, column, more of the condition)
KEYS = (("ix_documents_open_reference", "payment_reference", " AND payment_reference <> ''"),
        ("ix_documents_open_number", "number_key", ""),
        ("ix_documents_open_amount", "open_units", ""))
ACCOUNT = "counterparty_account <> ''"


def upgrade():
    # Stored, to be indexed: SQLite adds no stored column to a table, it copies the table.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("documents", recreate="always" if sqlite else "auto") as batch_op:
        batch_op.add_column(sa.Column("number_key", sa.String(60),
                                      sa.Computed("lower(number)", persisted=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("open_units", sa.BigInteger(), sa.Computed(
            "CAST(ROUND((gross_total - paid_total) * 10000) AS BIGINT)", persisted=True),
            nullable=True))
    for name, column, where in KEYS:
        op.create_index(name, "documents", ["tenant_id", column],
                        postgresql_where=sa.text(OPEN + where),
                        sqlite_where=sa.text(OPEN + where))
    op.create_index("ix_bank_lines_tenant_account", "bank_lines",
                    ["tenant_id", "counterparty_account"],
                    postgresql_where=sa.text(ACCOUNT), sqlite_where=sa.text(ACCOUNT))


def downgrade():
    op.drop_index("ix_bank_lines_tenant_account", table_name="bank_lines")
    for name, _, _ in KEYS:
        op.drop_index(name, table_name="documents")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("documents", recreate="always" if sqlite else "auto") as batch_op:
        batch_op.drop_column("open_units")
        batch_op.drop_column("number_key")
