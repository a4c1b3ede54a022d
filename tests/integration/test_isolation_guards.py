"""The three guards of tenant isolation, run against the live schema and URL map.

(a) every table outside a short allow-list carries tenant_id NOT NULL and row-level security;
(b) every URL that takes an object id answers 404 to a user of another tenant;
(c) raw SQL on a tenant table without the tenant setting sees no rows.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, event, func, insert, inspect, select, text, update

from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.access import STAFF_BLUEPRINTS
from saas.tenants.models import BankAccount, Role, Tenant
from tests.factories import (
    AuditEntryFactory,
    BankAccountFactory,
    BilledPeriodFactory,
    BillingRunFactory,
    CategoryDiscountFactory,
    ContactFactory,
    ContractAnnexFactory,
    ContractFactory,
    ContractLineFactory,
    ContractSiteFactory,
    ContractTypeFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    CustomerPriceFactory,
    DeliveryFactory,
    DocumentFactory,
    DocumentLineFactory,
    ExchangeRateFactory,
    ImportRunFactory,
    InvitationFactory,
    MembershipFactory,
    PortalLinkFactory,
    PostBatchFactory,
    PriceListFactory,
    PriceListItemFactory,
    ProductCategoryFactory,
    ProductFactory,
    QuoteResponseFactory,
    RecurringInvoiceFactory,
    RecurringOccurrenceFactory,
    ReminderFactory,
    ReminderLevelFactory,
    ReminderPauseFactory,
    ReminderPolicyFactory,
    SiteFactory,
    StripeConnectionFactory,
    StripeEventFactory,
    TenantFactory,
    TodoFactory,
    UserFactory,
    VatRateFactory,
    VolumeUsageFactory,
    issued_document,
    member,
    paid_from_bank_statement,
    payment_of_invoice,
)
from tests.factories_api import api_idempotency_key, api_token, bearer
from tests.factories_automations import (
    AutomationActionFactory,
    AutomationRuleFactory,
    AutomationRunFactory,
    DocumentTemplateFactory,
    GeneratedDocumentFactory,
    automation_rows,
)
from tests.factories_bank import BankLineFactory, BankStatementFactory
from tests.factories_bureau import BureauClientFactory, BureauPostBatchFactory, bureau_rows
from tests.factories_collection import (
    CaseDocumentFactory,
    CollectionCaseFactory,
    LegalPathFactory,
    LegalStageFactory,
    collection_rows,
)
from tests.factories_exports import AccountantExportFactory, ExportChunkFactory
from tests.factories_mail import MailServerFactory
from tests.factories_webhooks import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.factories_work import (
    ActivityFactory,
    BillableItemFactory,
    BillingRuleFactory,
    CostRateFactory,
    ItemBillingFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeEntryRevisionFactory,
    WorkTimerFactory,
)
from tests.factories_work_sources import (
    CitCardFactory,
    CitServiceFactory,
    GuardedSiteFactory,
    GuardingHoursFactory,
    GuardingPeriodFactory,
    NettingLineFactory,
    NettingStatementFactory,
    PayableItemFactory,
    ProtocolMaterialFactory,
    SupplierTermsFactory,
    WorkProtocolFactory,
)


def tenant_tables(connection) -> list[str]:
    names = inspect(connection).get_table_names()
    return sorted(name for name in names if name not in scoping.GLOBAL_TABLES)


def test_every_tenant_table_has_a_non_null_tenant_id(db_session):
    connection = db_session.connection()
    tables = tenant_tables(connection)
    assert tables, "no tenant tables found: is the schema migrated?"
    missing = []
    for table in tables:
        columns = {c["name"]: c for c in inspect(connection).get_columns(table)}
        if "tenant_id" not in columns or columns["tenant_id"]["nullable"]:
            missing.append(table)
    assert missing == []


@pytest.mark.postgres
def test_every_tenant_table_has_forced_row_level_security_with_a_policy(db_session):
    connection = db_session.connection()
    rows = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
    ).all()
    state = {name: (enabled, forced, policies) for name, enabled, forced, policies in rows}
    unprotected = [
        table for table in tenant_tables(connection)
        if state[table] != (True, True, 1)
    ]
    assert unprotected == []


@pytest.mark.postgres
def test_app_role_neither_owns_tables_nor_bypasses_rls(db_session):
    connection = db_session.connection()
    me = connection.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).one()
    assert tuple(me) == (False, False)
    owned = connection.execute(
        text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
             " AND tableowner = current_user")
    ).scalar()
    assert owned == 0


# One row of every tenant-owned model: (c) needs rows in every table to prove it hides them.
ONE_OF_EACH = (
    lambda t: BankAccountFactory(tenant=t),
    lambda t: InvitationFactory(tenant=t),
    lambda t: AuditEntryFactory(tenant=t),
    lambda t: ContactFactory(tenant=t),
    lambda t: SiteFactory(tenant=t),
    lambda t: PriceListItemFactory(tenant=t),
    lambda t: CustomerPriceFactory(tenant=t),
    lambda t: CategoryDiscountFactory(tenant=t),
    lambda t: ExchangeRateFactory(tenant=t),
    lambda t: ImportRunFactory(tenant=t),
    lambda t: issued_document(t),  # documents, lines, number series and counters
    lambda t: DeliveryFactory(tenant=t),
    lambda t: PostBatchFactory(tenant=t),
    lambda t: ReminderPolicyFactory(tenant=t),
    lambda t: ReminderLevelFactory(tenant=t),
    lambda t: ReminderFactory(tenant=t),
    lambda t: ReminderPauseFactory(tenant=t),
    lambda t: TodoFactory(tenant=t),
    lambda t: RecurringOccurrenceFactory(tenant=t),  # and its recurring invoice
    lambda t: ContractTypeFactory(tenant=t),
    lambda t: ContractLineFactory(tenant=t),  # and its contract
    lambda t: ContractAnnexFactory(tenant=t),
    lambda t: ContractSiteFactory(tenant=t),
    lambda t: BillingRunFactory(tenant=t),
    lambda t: BilledPeriodFactory(tenant=t),
    lambda t: VolumeUsageFactory(tenant=t),
    lambda t: paid_from_bank_statement(t),  # payments, allocations, journal, bank statements
    lambda t: PortalLinkFactory(tenant=t),
    lambda t: QuoteResponseFactory(tenant=t),
    lambda t: StripeEventFactory(tenant=t),
    lambda t: StripeConnectionFactory(tenant=t),
    lambda t: TimeEntryRevisionFactory(tenant=t),  # time entry, task, project, customer
    lambda t: WorkTimerFactory(tenant=t),
    lambda t: BillingRuleFactory(tenant=t, activity_id=ActivityFactory(tenant=t).id),
    lambda t: BillableItemFactory(tenant=t),
    lambda t: ProtocolMaterialFactory(tenant=t),  # and its protocol
    lambda t: GuardingHoursFactory(tenant=t),  # and its guarded site
    lambda t: GuardingPeriodFactory(tenant=t),
    lambda t: CitServiceFactory(tenant=t),  # and its card
    lambda t: SupplierTermsFactory(tenant=t),
    lambda t: PayableItemFactory(tenant=t),
    lambda t: NettingLineFactory(tenant=t),  # and its statement
    lambda t: CostRateFactory(tenant=t),
    lambda t: ItemBillingFactory(tenant=t),  # and an item and a document line
    lambda t: collection_rows(t),  # collection settings, paths, stages, cases, notes ...
    lambda t: bureau_rows(t),  # the bureau's clients, assignments, activity, print runs
    lambda t: ExportChunkFactory(tenant=t),  # and its accountant export
    lambda t: WebhookDeliveryFactory(tenant=t),  # and its webhook endpoint
    lambda t: api_idempotency_key(t),  # and its API token
    lambda t: automation_rows(t),  # rules, actions, runs, templates, generated documents
    lambda t: MailServerFactory(tenant=t),
)

# --- (b) every URL with an object id -------------------------------------------------------

# How to make an object of each kind that URLs name by id. A new URL argument must be
# added here, or test_every_object_url_argument_is_known fails: no URL escapes the probe.
OBJECT_FACTORIES = {
    "protocol_id": lambda tenant: WorkProtocolFactory(tenant=tenant),
    "material_id": lambda tenant: ProtocolMaterialFactory(tenant=tenant),
    "guarded_site_id": lambda tenant: GuardedSiteFactory(tenant=tenant),
    "card_id": lambda tenant: CitCardFactory(tenant=tenant),
    "service_id": lambda tenant: CitServiceFactory(tenant=tenant),
    "payable_id": lambda tenant: PayableItemFactory(tenant=tenant),
    "statement_id": lambda tenant: NettingStatementFactory(tenant=tenant),
    "bank_account_id": lambda tenant: BankAccountFactory(tenant=tenant),
    "membership_id": lambda tenant: MembershipFactory(tenant=tenant, role=Role.ADMIN),
    "invitation_id": lambda tenant: InvitationFactory(tenant=tenant),
    "customer_id": lambda tenant: CustomerFactory(tenant=tenant),
    "contact_id": lambda tenant: ContactFactory(tenant=tenant),
    "site_id": lambda tenant: SiteFactory(tenant=tenant),
    "product_id": lambda tenant: ProductFactory(tenant=tenant),
    "vat_rate_id": lambda tenant: VatRateFactory(tenant=tenant),
    "product_category_id": lambda tenant: ProductCategoryFactory(tenant=tenant),
    "customer_category_id": lambda tenant: CustomerCategoryFactory(tenant=tenant),
    "price_list_id": lambda tenant: PriceListFactory(tenant=tenant),
    "price_list_item_id": lambda tenant: PriceListItemFactory(tenant=tenant),
    "customer_price_id": lambda tenant: CustomerPriceFactory(tenant=tenant),
    "category_discount_id": lambda tenant: CategoryDiscountFactory(tenant=tenant),
    "exchange_rate_id": lambda tenant: ExchangeRateFactory(tenant=tenant),
    "import_run_id": lambda tenant: ImportRunFactory(tenant=tenant),
    "document_id": lambda tenant: DocumentFactory(tenant=tenant),
    "line_id": lambda tenant: DocumentLineFactory(tenant=tenant),
    "post_batch_id": lambda tenant: PostBatchFactory(tenant=tenant),
    "delivery_id": lambda tenant: DeliveryFactory(tenant=tenant),
    "reminder_id": lambda tenant: ReminderFactory(tenant=tenant),
    "level_id": lambda tenant: ReminderLevelFactory(tenant=tenant),
    "pause_id": lambda tenant: ReminderPauseFactory(tenant=tenant),
    "todo_id": lambda tenant: TodoFactory(tenant=tenant),
    "recurring_id": lambda tenant: RecurringInvoiceFactory(tenant=tenant),
    "contract_id": lambda tenant: ContractFactory(tenant=tenant),
    "run_id": lambda tenant: BillingRunFactory(tenant=tenant),
    "payment_id": lambda tenant: SimpleNamespace(id=payment_of_invoice(tenant)[0]),
    "allocation_id": lambda tenant: SimpleNamespace(id=payment_of_invoice(tenant)[1]),
    "bank_statement_id": lambda tenant: BankStatementFactory(tenant=tenant),
    "bank_line_id": lambda tenant: BankLineFactory(tenant=tenant),
    "stripe_event_id": lambda tenant: StripeEventFactory(tenant=tenant),
    "project_id": lambda tenant: ProjectFactory(tenant=tenant),
    "task_id": lambda tenant: TaskFactory(tenant=tenant),
    "time_entry_id": lambda tenant: TimeEntryFactory(tenant=tenant),
    "timer_id": lambda tenant: WorkTimerFactory(tenant=tenant),
    "rule_id": lambda tenant: BillingRuleFactory(tenant=tenant),
    "item_id": lambda tenant: BillableItemFactory(tenant=tenant),
    "case_id": lambda tenant: CollectionCaseFactory(tenant=tenant),
    "collection_document_id": lambda tenant: CaseDocumentFactory(tenant=tenant),
    "legal_path_id": lambda tenant: LegalPathFactory(tenant=tenant),
    "legal_stage_id": lambda tenant: LegalStageFactory(tenant=tenant),
    "bureau_client_id": lambda tenant: BureauClientFactory(tenant=tenant),
    "bureau_post_batch_id": lambda tenant: BureauPostBatchFactory(tenant=tenant),
    "export_id": lambda tenant: AccountantExportFactory(tenant=tenant),
    "webhook_endpoint_id": lambda tenant: WebhookEndpointFactory(tenant=tenant),
    "webhook_delivery_id": lambda tenant: WebhookDeliveryFactory(tenant=tenant),
    "api_token_id": lambda tenant: SimpleNamespace(id=api_token(tenant)[0]),
    "billable_item_id": lambda tenant: BillableItemFactory(tenant=tenant),
    "billing_run_id": lambda tenant: BillingRunFactory(tenant=tenant),
    "automation_rule_id": lambda tenant: AutomationRuleFactory(tenant=tenant),
    "automation_action_id": lambda tenant: AutomationActionFactory(tenant=tenant),
    "automation_run_id": lambda tenant: AutomationRunFactory(tenant=tenant),
    "document_template_id": lambda tenant: DocumentTemplateFactory(tenant=tenant),
    "generated_document_id": lambda tenant: GeneratedDocumentFactory(tenant=tenant),
}


def object_id_rules(app):
    for rule in app.url_map.iter_rules():
        ids = [arg for arg in rule.arguments if arg.endswith("_id")]
        if ids:
            yield rule, ids


def test_every_object_url_argument_is_known(app):
    unknown = {
        (rule.rule, arg) for rule, ids in object_id_rules(app) for arg in ids
        if arg not in OBJECT_FACTORIES
    }
    assert unknown == set()


def _fill(rule, values: dict[str, object]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_objects_of_another_tenant_are_404_on_every_url(app, make_client, db_session):
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    objects_a = {arg: make(tenant_a).id for arg, make in OBJECT_FACTORIES.items()}
    user_b = member(tenant_b, Role.OWNER)
    client_b = make_client(user_b)
    api_headers_b = bearer(api_token(tenant_b)[1])  # the API: B's token, A's ids

    probes = []
    for rule, _ in object_id_rules(app):
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        headers = api_headers_b if rule.endpoint.startswith("api.") else {}
        for slug in (tenant_b.slug, tenant_a.slug):  # A's ids in B's space, and A's space
            url = _fill(rule, {"tenant_slug": slug, **objects_a})
            for method in methods:
                response = client_b.open(url, method=method, headers=headers)
                probes.append((method, url, response.status_code))
    assert probes, "no URL with an object id was probed"
    assert [p for p in probes if p[2] != 404] == []


def test_a_tenant_is_invisible_to_non_members(app, make_client, db_session):
    tenant_a = TenantFactory()
    outsider = member(TenantFactory(), Role.OWNER)
    client = make_client(outsider)
    staff_rules = [
        rule for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS and not rule.arguments - {"tenant_slug"}
    ]
    assert staff_rules
    statuses = {
        rule.rule: client.get(_fill(rule, {"tenant_slug": tenant_a.slug})).status_code
        for rule in staff_rules if "GET" in rule.methods
    }
    assert set(statuses.values()) == {404}, statuses


def test_every_staff_page_answers_its_own_owner_without_an_error(app, make_client, db_session):
    """The other side of the probes above: each GET page of the staff app, with the tenant's
    own objects, answers its owner with a real HTTP status below 500 (not a crash, not the
    status 0 a template variable named ``status`` once made of a page)."""
    tenant = TenantFactory()
    objects = {arg: make(tenant).id for arg, make in OBJECT_FACTORIES.items()}
    client = make_client(member(tenant, Role.OWNER))
    answers = {}
    for rule in app.url_map.iter_rules():
        if (rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS and "GET" in rule.methods
                and "tenant_slug" in rule.arguments
                and rule.arguments <= {"tenant_slug", *objects}):
            url = _fill(rule, {"tenant_slug": tenant.slug, **objects})
            answers[url] = client.get(url).status_code
    assert len(answers) > 50
    assert {url: code for url, code in answers.items() if not 200 <= code < 500} == {}


# --- (c) raw SQL without the tenant setting ------------------------------------------------


@pytest.mark.postgres
def test_raw_sql_without_tenant_setting_sees_no_rows(db_session):
    tenant = TenantFactory()
    member(tenant)
    for make in ONE_OF_EACH:
        make(tenant)
    db_session.flush()
    connection = db_session.connection()

    def counts(tenant_setting: str) -> dict[str, int]:
        connection.execute(
            text("SELECT set_config('app.tenant_id', :t, true),"
                 " set_config('app.user_id', '', true)"),
            {"t": tenant_setting},
        )
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in tenant_tables(connection)
        }

    with_setting = counts(str(tenant.id))
    assert all(with_setting[t] > 0 for t in with_setting), with_setting  # rows exist
    assert set(counts("").values()) == {0}


@pytest.mark.postgres
def test_raw_insert_into_another_tenant_is_refused(db_session):
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    connection = db_session.connection()
    connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_b.id)}
    )
    with pytest.raises(Exception, match="row-level security"):
        with connection.begin_nested():
            connection.execute(
                text("INSERT INTO bank_accounts (tenant_id, label, iban, bban, bic, currency,"
                     " is_default, created_at) VALUES (:t, '', '', '', '', 'EUR', false, now())"),
                {"t": tenant_a.id},
            )


# --- the ORM walls -------------------------------------------------------------------------


def test_orm_query_without_a_tenant_fails_closed(db_session):
    TenantFactory()
    scoping.restore(scoping.EMPTY_SCOPE)
    from saas.tenants.models import Membership

    with pytest.raises(scoping.TenantNotSet):
        db.session.query(Membership).all()


def test_orm_query_returns_only_current_tenant_rows(db_session):
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    own = BankAccountFactory(tenant=tenant_a)
    BankAccountFactory(tenant=tenant_b)
    with scoping.tenant_context(tenant_a.id):
        assert db.session.scalars(select(BankAccount)).all() == [own]


def test_new_rows_are_stamped_with_the_current_tenant(db_session):
    tenant = TenantFactory()
    with scoping.tenant_context(tenant.id):
        account = BankAccount(currency="EUR")
        db.session.add(account)
        db.session.flush()
    assert account.tenant_id == tenant.id


def test_writing_a_row_of_another_tenant_is_refused(db_session):
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    account = BankAccountFactory(tenant=tenant_a)
    with pytest.raises(scoping.CrossTenantWrite):
        with scoping.tenant_context(tenant_b.id):
            account.label = "hijacked"
    db.session.rollback()


def test_every_staff_view_declares_the_roles_it_needs(app):
    undeclared = [
        endpoint for endpoint, view in app.view_functions.items()
        if endpoint.split(".")[0] in STAFF_BLUEPRINTS and not hasattr(view, "required_roles")
    ]
    assert undeclared == []


def test_user_memberships_are_listed_across_tenants_but_only_their_own(db_session):
    from saas.tenants.services import memberships_of

    user = UserFactory()
    first, second = TenantFactory(), TenantFactory()
    MembershipFactory(tenant=first, user=user)
    MembershipFactory(tenant=second, user=user, role=Role.VIEWER)
    member(TenantFactory())  # someone else's membership
    scoping.set_current_user(user.id)
    assert {m.tenant_id for m in memberships_of(user)} == {first.id, second.id}


STATEMENT_FORMS = {
    "count over select_from": lambda: select(func.count()).select_from(BankAccount),
    "count of a column": lambda: select(func.count(BankAccount.id)),
    "entity": lambda: select(BankAccount),
    "column": lambda: select(BankAccount.iban),
    "join from a global table": lambda: select(Tenant.id).join(
        BankAccount, BankAccount.tenant_id == Tenant.id
    ),
    "update": lambda: update(BankAccount).values(label="x"),
    "delete": lambda: delete(BankAccount),
}


@pytest.mark.parametrize("form", STATEMENT_FORMS)
def test_every_statement_form_gets_the_tenant_filter(db_session, form):
    """Checked on the SQL sent, so the ORM wall is tested apart from row-level security."""
    tenant = TenantFactory()
    sent: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with scoping.tenant_context(tenant.id):
            db.session.execute(STATEMENT_FORMS[form]())
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [statement] = [s for s in sent if "bank_accounts" in s]
    assert "bank_accounts.tenant_id =" in statement


def test_a_count_over_select_from_sees_only_the_current_tenant(db_session):
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    BankAccountFactory(tenant=tenant_a)
    BankAccountFactory(tenant=tenant_b)
    BankAccountFactory(tenant=tenant_b)
    with scoping.tenant_context(tenant_a.id):
        assert db.session.scalar(select(func.count()).select_from(BankAccount)) == 1


def test_a_bulk_insert_is_stamped_and_checked(db_session):
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    with scoping.tenant_context(tenant_a.id):
        db.session.execute(insert(BankAccount), [{"currency": "EUR", "label": "bulk"}])
        with pytest.raises(scoping.CrossTenantWrite):
            db.session.execute(insert(BankAccount),
                               [{"currency": "EUR", "tenant_id": tenant_b.id}])
        stamped = db.session.scalar(select(BankAccount).where(BankAccount.label == "bulk"))
    assert stamped.tenant_id == tenant_a.id


@pytest.mark.postgres
def test_a_users_own_memberships_show_across_tenants_only_outside_any_tenant(db_session):
    user = UserFactory()
    first, second = TenantFactory(), TenantFactory()
    MembershipFactory(tenant=first, user=user)
    MembershipFactory(tenant=second, user=user)
    connection = db_session.connection()

    def visible(tenant_setting: str, user_setting: str) -> int:
        connection.execute(
            text("SELECT set_config('app.tenant_id', :t, true),"
                 " set_config('app.user_id', :u, true)"),
            {"t": tenant_setting, "u": user_setting},
        )
        return connection.execute(
            text("SELECT count(*) FROM memberships WHERE user_id = :u"), {"u": user.id}
        ).scalar()

    assert visible("", str(user.id)) == 2  # the tenant switcher
    assert visible(str(first.id), str(user.id)) == 1  # inside a tenant: that tenant only
    assert visible("", "") == 0
