"""Bank import speed: a statement's lines and the journal's lines checked against their
parent only (a composite foreign key with the tenant, instead of two keys); indexes of
columns a bank receipt leaves empty made partial; the events' subject index only for the
overdue sweep's events

Revision ID: 0035_bank_speed2
Revises: 0034_list_speed

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0035_bank_speed2"
down_revision = "0034_list_speed"
branch_labels = None
depends_on = None

# (child, parent, the child's column referring to the parent)
COMPOSITE = (("bank_lines", "bank_statements", "statement_id"),
             ("journal_lines", "journal_entries", "entry_id"))
# (table, column): indexed (tenant_id, column) only where the column is set
PARTIAL = (("journal_entries", "document_id"), ("journal_lines", "customer_id"),
           ("allocations", "credit_note_id"), ("documents", "source_id"))
INDEX = {"journal_entries": "ix_journal_entries_tenant_document",
         "journal_lines": "ix_journal_lines_tenant_customer",
         "allocations": "ix_allocations_tenant_credit_note",
         "documents": "ix_documents_tenant_source"}

OVERDUE = "name = 'document.overdue'"


def upgrade():
    # A line's (tenant_id, parent) must be its parent's: the parent's tenant exists (its
    # own key), and deleting the tenant deletes the parent, which deletes the lines.
    for child, parent, column in COMPOSITE:
        with op.batch_alter_table(parent, schema=None) as batch_op:
            batch_op.create_unique_constraint(f"uq_{parent}_tenant_id_id", ["tenant_id", "id"])
        with op.batch_alter_table(child, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{child}_tenant_id_tenants", type_="foreignkey")
            batch_op.drop_constraint(f"fk_{child}_{column}_{parent}", type_="foreignkey")
            batch_op.create_foreign_key(f"fk_{child}_tenant_id_{parent}", parent,
                                        ["tenant_id", column], ["tenant_id", "id"],
                                        ondelete="CASCADE")
    for table, column in PARTIAL:
        op.drop_index(INDEX[table], table_name=table)
        op.create_index(INDEX[table], table, ["tenant_id", column],
                        postgresql_where=sa.text(f"{column} IS NOT NULL"),
                        sqlite_where=sa.text(f"{column} IS NOT NULL"))
    # Its only reader, the overdue sweep, asks for the document.overdue events' subjects.
    op.drop_index("ix_domain_events_subject", table_name="domain_events")
    op.create_index("ix_domain_events_overdue", "domain_events", ["tenant_id", "subject_id"],
                    postgresql_where=sa.text(OVERDUE), sqlite_where=sa.text(OVERDUE))


def downgrade():
    op.drop_index("ix_domain_events_overdue", table_name="domain_events")
    op.create_index("ix_domain_events_subject", "domain_events",
                    ["tenant_id", "subject_type", "subject_id"])
    for table, column in PARTIAL:
        op.drop_index(INDEX[table], table_name=table)
        op.create_index(INDEX[table], table, ["tenant_id", column])
    for child, parent, column in COMPOSITE:
        with op.batch_alter_table(child, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{child}_tenant_id_{parent}", type_="foreignkey")
            batch_op.create_foreign_key(f"fk_{child}_{column}_{parent}", parent, [column],
                                        ["id"], ondelete="CASCADE")
            batch_op.create_foreign_key(f"fk_{child}_tenant_id_tenants", "tenants",
                                        ["tenant_id"], ["id"], ondelete="CASCADE")
        with op.batch_alter_table(parent, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{parent}_tenant_id_id", type_="unique")
