"""Bank import speed: no single-column tenant_id index where an index led by tenant_id
serves the same lookups (each index less is one less to write on every insert)

Revision ID: 0028_bank_speed
Revises: 0027_exports

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0028_bank_speed"
down_revision = "0027_exports"
branch_labels = None
depends_on = None

# Tables with a composite (or unique) index led by tenant_id beside ix_<table>_tenant_id.
# The tables with none keep theirs (TenantScoped.tenant_id_indexed in their models).
REDUNDANT = (
    "allocations",
    "audit_entries",
    "bank_csv_mappings",
    "bank_lines",
    "bank_statements",
    "billable_item_billings",
    "billable_items",
    "billed_periods",
    "billing_rules",
    "brandings",
    "bureau_activities",
    "bureau_assignments",
    "category_discounts",
    "cit_cards",
    "collection_case_events",
    "collection_cases",
    "collection_notes",
    "collection_settings",
    "contract_lines",
    "contract_types",
    "contracts",
    "customer_categories",
    "customer_search_terms",
    "customers",
    "deliveries",
    "document_lines",
    "documents",
    "exchange_rates",
    "guarded_sites",
    "guarding_hours",
    "guarding_periods",
    "invitations",
    "journal_entries",
    "journal_lines",
    "memberships",
    "netting_lines",
    "netting_statements",
    "number_counters",
    "number_series",
    "payable_items",
    "payments",
    "portal_links",
    "price_list_items",
    "price_lists",
    "product_categories",
    "products",
    "projects",
    "quote_responses",
    "recurring_invoices",
    "reminder_levels",
    "reminder_pauses",
    "reminder_policies",
    "reminders",
    "sites",
    "stripe_connections",
    "stripe_events",
    "supplier_terms",
    "tasks",
    "time_entries",
    "time_entry_revisions",
    "todos",
    "vat_rates",
    "volume_usages",
    "work_activities",
    "work_cost_rates",
    "work_protocols",
    "work_timers",
    # The tables of 0023–0027 (events, API, webhooks, automations, exports).
    "accountant_export_chunks",
    "accountant_exports",
    "api_idempotency_keys",
    "api_tokens",
    "automation_actions",
    "automation_rules",
    "automation_runs",
    "delivery_attachments",
    "document_templates",
    "domain_events",
    "generated_documents",
    "webhook_deliveries",
)


def upgrade():
    for table in REDUNDANT:
        op.drop_index(op.f(f"ix_{table}_tenant_id"), table_name=table)


def downgrade():
    for table in REDUNDANT:
        op.create_index(op.f(f"ix_{table}_tenant_id"), table, ["tenant_id"], unique=False)
