"""Indexes for the sales reports: documents by issue date, lines covering what the reports sum

Revision ID: 0022_reports
Revises: 0021_bureau

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0022_reports"
down_revision = "0021_bureau"
branch_labels = None
depends_on = None

COVERED = ["net", "quantity", "product_id", "site_id", "contract_id"]


def upgrade():
    op.create_index(
        "ix_document_lines_report",
        "document_lines",
        ["tenant_id", "document_id"],
        unique=False,
        postgresql_include=COVERED,
    )
    op.create_index(
        "ix_documents_tenant_issue_date", "documents", ["tenant_id", "issue_date"], unique=False
    )


def downgrade():
    op.drop_index("ix_documents_tenant_issue_date", table_name="documents")
    op.drop_index("ix_document_lines_report", table_name="document_lines")
