"""Automations: rules, their actions and runs, document templates, generated documents, tags

Revision ID: 0026_automations
Revises: 0023_events

"""

import sqlalchemy as sa
from alembic import op

from saas.tenants.scoping import enable_tenant_rls

# revision identifiers, used by Alembic.
revision = "0026_automations"
down_revision = "0025_webhooks"
branch_labels = None
depends_on = None

TABLES = (
    "automation_rules",
    "document_templates",
    "automation_actions",
    "automation_runs",
    "generated_documents",
    "delivery_attachments",
)


def upgrade():
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=60), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_automation_rules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rules")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_automation_rules_tenant_id_name")),
    )
    op.create_index(
        op.f("ix_automation_rules_tenant_id"), "automation_rules", ["tenant_id"], unique=False
    )
    op.create_index(
        "ix_automation_rules_trigger",
        "automation_rules",
        ["tenant_id", "trigger", "active"],
        unique=False,
    )
    op.create_table(
        "document_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("contract", "letter", name="templatekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_document_templates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_templates")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_document_templates_tenant_id_name")),
    )
    op.create_index(
        op.f("ix_document_templates_tenant_id"), "document_templates", ["tenant_id"], unique=False
    )
    op.create_table(
        "automation_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "create_document",
                "convert_proforma",
                "generate_from_template",
                "send_documents",
                "send_email",
                name="actionkind",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["automation_rules.id"],
            name=op.f("fk_automation_actions_rule_id_automation_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_automation_actions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_actions")),
    )
    op.create_index(
        "ix_automation_actions_rule",
        "automation_actions",
        ["tenant_id", "rule_id", "position"],
        unique=False,
    )
    op.create_index(
        op.f("ix_automation_actions_tenant_id"), "automation_actions", ["tenant_id"], unique=False
    )
    op.create_table(
        "automation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("event_name", sa.String(length=60), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "done",
                "failed",
                name="runstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_automation_runs_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_automation_runs_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["domain_events.id"],
            name=op.f("fk_automation_runs_event_id_domain_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["automation_rules.id"],
            name=op.f("fk_automation_runs_rule_id_automation_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_automation_runs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_runs")),
        sa.UniqueConstraint(
            "tenant_id",
            "rule_id",
            "event_id",
            name=op.f("uq_automation_runs_tenant_id_rule_id_event_id"),
        ),
    )
    op.create_index(
        "ix_automation_runs_recent", "automation_runs", ["tenant_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_automation_runs_tenant_id"), "automation_runs", ["tenant_id"], unique=False
    )
    op.create_table(
        "generated_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("contract", "letter", name="templatekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_generated_documents_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_generated_documents_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_generated_documents_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["automation_runs.id"],
            name=op.f("fk_generated_documents_run_id_automation_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["document_templates.id"],
            name=op.f("fk_generated_documents_template_id_document_templates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_generated_documents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generated_documents")),
    )
    op.create_index(
        "ix_generated_documents_customer",
        "generated_documents",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_generated_documents_tenant_id"), "generated_documents", ["tenant_id"], unique=False
    )
    op.create_table(
        "delivery_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("generated_document_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_attachments_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["generated_document_id"],
            ["generated_documents.id"],
            name=op.f("fk_delivery_attachments_generated_document_id_generated_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_delivery_attachments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attachments")),
        sa.UniqueConstraint(
            "tenant_id",
            "delivery_id",
            "generated_document_id",
            name=op.f("uq_delivery_attachments_tenant_id_delivery_id_generated_document_id"),
        ),
    )
    op.create_index(
        op.f("ix_delivery_attachments_tenant_id"),
        "delivery_attachments",
        ["tenant_id"],
        unique=False,
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tags", sa.String(length=500), nullable=False, server_default="")
        )
    for table in TABLES:
        enable_tenant_rls(op, table)


def downgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("tags")
    op.drop_index(op.f("ix_delivery_attachments_tenant_id"), table_name="delivery_attachments")
    op.drop_table("delivery_attachments")
    op.drop_index(op.f("ix_generated_documents_tenant_id"), table_name="generated_documents")
    op.drop_index("ix_generated_documents_customer", table_name="generated_documents")
    op.drop_table("generated_documents")
    op.drop_index(op.f("ix_automation_runs_tenant_id"), table_name="automation_runs")
    op.drop_index("ix_automation_runs_recent", table_name="automation_runs")
    op.drop_table("automation_runs")
    op.drop_index(op.f("ix_automation_actions_tenant_id"), table_name="automation_actions")
    op.drop_index("ix_automation_actions_rule", table_name="automation_actions")
    op.drop_table("automation_actions")
    op.drop_index(op.f("ix_document_templates_tenant_id"), table_name="document_templates")
    op.drop_table("document_templates")
    op.drop_index("ix_automation_rules_trigger", table_name="automation_rules")
    op.drop_index(op.f("ix_automation_rules_tenant_id"), table_name="automation_rules")
    op.drop_table("automation_rules")
