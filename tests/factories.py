"""factory_boy factories. Tenant-owned objects are created inside their tenant's context,
exactly as the app creates them, so the scoping hooks see every write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from saas.billing.catalog.models import (
    CategoryDiscount,
    CustomerPrice,
    ExchangeRate,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
    VatCategory,
    VatRate,
)
from saas.billing.contracts.models import (
    BilledPeriod,
    BillingRun,
    Contract,
    ContractAnnex,
    ContractLine,
    ContractSite,
    ContractType,
    VolumeUsage,
)
from saas.billing.customers.models import Contact, Customer, CustomerCategory, Site
from saas.billing.documents.models import Delivery, Document, DocumentLine, PostBatch
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.imports.models import ImportRun
from saas.billing.recurring.models import RecurringInvoice, RecurringOccurrence
from saas.billing.reminders.models import (
    Reminder,
    ReminderLevel,
    ReminderPause,
    ReminderPolicy,
    Tone,
)
from saas.billing.todos.models import Todo, TodoKind
from saas.extensions import db
from saas.portal.models import (
    ConnectionKind,
    LinkPurpose,
    PortalLink,
    QuoteDecision,
    QuoteResponse,
    StripeConnection,
    StripeEvent,
)
from saas.tenants import scoping, services
from saas.tenants.models import (
    AuditEntry,
    BankAccount,
    Invitation,
    Membership,
    Role,
    Tenant,
    TenantKind,
    User,
)

PASSWORD = "correct horse battery"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - resolved per test
        # Commit = release a savepoint inside the test transaction: a rollback in the code
        # under test then cannot take the fixtures with it (as in production).
        sqlalchemy_session_persistence = "commit"


class TenantFactory(BaseFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Company {n} AS")
    kind = TenantKind.BUSINESS
    country = "NO"
    currency = "NOK"

    @classmethod
    def _create(cls, model_class, name, kind, country, currency, **kwargs):
        # Through the service, so every tenant gets its branding row as in production.
        tenant = services.create_tenant(name, kind, country=country, currency=currency,
                                        bureau=kwargs.pop("bureau", None))
        for key, value in kwargs.items():
            setattr(tenant, key, value)
        db.session.commit()
        return tenant


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password_hash = factory.LazyFunction(lambda: _password_hash())


def _password_hash() -> str:
    user = User()
    user.set_password(PASSWORD)
    return user.password_hash


class TenantScopedFactory(BaseFactory):
    """Create the object inside the context of its tenant (pass tenant=...)."""

    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = kwargs.pop("tenant")
        with scoping.tenant_context(tenant.id):
            obj = super()._create(model_class, *args, tenant_id=tenant.id, **kwargs)
            # Load it again while its tenant is set: row-level security hides it outside.
            db.session.refresh(obj)
            return obj


class MembershipFactory(TenantScopedFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class InvitationFactory(TenantScopedFactory):
    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.STAFF


class BankAccountFactory(TenantScopedFactory):
    class Meta:
        model = BankAccount

    iban = "NO9386011117947"
    bic = "DNBANOKKXXX"
    currency = "NOK"
    label = "Main"


class AuditEntryFactory(TenantScopedFactory):
    class Meta:
        model = AuditEntry

    action = "test.action"
    summary = "Something happened"


def member(tenant: Tenant, role: Role = Role.OWNER, **user_fields) -> User:
    """A new user with a role in tenant."""
    user = UserFactory(**user_fields)
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


# --- customers and catalog -----------------------------------------------------------------


class CustomerCategoryFactory(TenantScopedFactory):
    class Meta:
        model = CustomerCategory

    name = factory.Sequence(lambda n: f"Category {n}")


class CustomerFactory(TenantScopedFactory):
    class Meta:
        model = Customer

    number = factory.Sequence(lambda n: 10000 + n)
    name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    country = "NO"
    currency = "NOK"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = kwargs["tenant"]
        customer = super()._create(model_class, *args, **kwargs)
        _refresh_search(tenant, customer.id)
        return customer


def _refresh_search(tenant, customer_id: int, created: object = None) -> None:
    """Index the customer's words for search, as the services do on every change."""
    from saas.billing.customers.services import refresh_search_text

    with scoping.tenant_context(tenant.id):
        customer = db.session.get(Customer, customer_id)
        db.session.refresh(customer)
        refresh_search_text(customer)
        db.session.commit()
        db.session.refresh(customer)
        if created is not None:
            db.session.refresh(created)


class CustomerPartFactory(TenantScopedFactory):
    """A contact or site: its customer's search words are refreshed, as services do."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = kwargs["tenant"]
        obj = super()._create(model_class, *args, **kwargs)
        _refresh_search(tenant, obj.customer_id, obj)
        return obj


class ContactFactory(CustomerPartFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(
        CustomerFactory, tenant=factory.SelfAttribute("..tenant")
    )
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")


class SiteFactory(CustomerPartFactory):
    class Meta:
        model = Site

    customer = factory.SubFactory(
        CustomerFactory, tenant=factory.SelfAttribute("..tenant")
    )
    code = factory.Sequence(lambda n: f"S-{n:04d}")
    name = factory.Sequence(lambda n: f"Site {n}")


class VatRateFactory(TenantScopedFactory):
    class Meta:
        model = VatRate

    code = factory.Sequence(lambda n: f"V{n}")
    name = "Standard rate"
    rate = Decimal("25.00")
    category = VatCategory.STANDARD


class ProductCategoryFactory(TenantScopedFactory):
    class Meta:
        model = ProductCategory

    name = factory.Sequence(lambda n: f"Product category {n}")


class ProductFactory(TenantScopedFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    vat_rate = factory.SubFactory(VatRateFactory, tenant=factory.SelfAttribute("..tenant"))
    base_price = Decimal("100.00")
    currency = "NOK"


class PriceListFactory(TenantScopedFactory):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"Price list {n}")
    currency = "NOK"


class PriceListItemFactory(TenantScopedFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory, tenant=factory.SelfAttribute("..tenant"))
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    price = Decimal("90.00")


class CustomerPriceFactory(TenantScopedFactory):
    class Meta:
        model = CustomerPrice

    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    price = Decimal("80.00")
    currency = "NOK"


class CategoryDiscountFactory(TenantScopedFactory):
    class Meta:
        model = CategoryDiscount

    customer_category = factory.SubFactory(
        CustomerCategoryFactory, tenant=factory.SelfAttribute("..tenant")
    )
    product_category = factory.SubFactory(
        ProductCategoryFactory, tenant=factory.SelfAttribute("..tenant")
    )
    percent = Decimal("10.00")


class ExchangeRateFactory(TenantScopedFactory):
    class Meta:
        model = ExchangeRate

    base_currency = "EUR"
    quote_currency = "NOK"
    valid_on = factory.Sequence(lambda n: date(2026, 1, 1) + timedelta(days=n))
    rate = Decimal("11.50")


class ImportRunFactory(TenantScopedFactory):
    class Meta:
        model = ImportRun

    kind = "customers"
    filename = "customers.csv"
    total = 10


class DocumentFactory(TenantScopedFactory):
    """A draft invoice (no lines)."""

    class Meta:
        model = Document

    kind = DocumentKind.INVOICE
    status = DocumentStatus.DRAFT
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    currency = "NOK"
    tenant_currency = "NOK"


class DocumentLineFactory(TenantScopedFactory):
    """A manual line on a draft document."""

    class Meta:
        model = DocumentLine

    document = factory.SubFactory(DocumentFactory, tenant=factory.SelfAttribute("..tenant"))
    position = factory.Sequence(lambda n: n + 1)
    description = factory.Sequence(lambda n: f"Work item {n}")
    quantity = Decimal("2")
    unit = "h"
    unit_price = Decimal("500.00")
    net = Decimal("1000.00")
    # The line keeps its own copy of the rate (vat_rate is the percentage column).
    vat = factory.SubFactory(VatRateFactory, tenant=factory.SelfAttribute("..tenant"))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        vat = kwargs.pop("vat")
        kwargs.update(vat_rate_id=vat.id, vat_code=vat.code, vat_rate=vat.rate,
                      vat_category=str(vat.category))
        return super()._create(model_class, *args, **kwargs)


def issued_document(tenant: Tenant, kind: DocumentKind = DocumentKind.INVOICE,
                    lines: int = 1) -> int:
    """Issue a document through the services (numbered, snapshotted, PDF stored); its id."""
    from saas.billing.documents import issuing as document_issuing
    from saas.billing.documents import services as document_services

    customer_id = CustomerFactory(tenant=tenant).id
    vat_id = VatRateFactory(tenant=tenant).id
    with scoping.tenant_context(tenant.id):
        customer = db.session.get(Customer, customer_id)
        document = document_services.create_document(kind, customer)
        for n in range(lines):
            document_services.add_line(document, {
                "description": f"Service {n + 1}", "quantity": Decimal("1"),
                "unit_price": Decimal("100"), "vat_rate_id": vat_id})
        document_issuing.issue_document(document)
        document_id = document.id
        db.session.commit()
    return document_id


def paid_from_bank_statement(tenant: Tenant) -> int:
    """An issued invoice paid in part by a payment booked from an imported bank statement
    line (payments, allocations, journal, bank statements, lines, a CSV mapping); its id."""
    from saas.billing.payments import services as payment_services
    from saas.billing.payments.models import (
        BankCsvMapping,
        BankLine,
        BankStatement,
        StatementFormat,
    )

    invoice_id = issued_document(tenant)
    account_id = BankAccountFactory(tenant=tenant).id
    with scoping.tenant_context(tenant.id):
        invoice = db.session.get(Document, invoice_id)
        statement = BankStatement(bank_account_id=account_id, format=StatementFormat.CSV,
                                  file_name="statement.csv", file_sha256="0" * 64,
                                  currency=invoice.currency, line_count=1)
        line = BankLine(statement=statement, position=1, booked_on=invoice.issue_date,
                        amount=Decimal("50.00"), currency=invoice.currency,
                        counterparty_name=invoice.customer.name)
        db.session.add_all([statement, line,
                            BankCsvMapping(bank_account_id=account_id, columns={"amount": 3})])
        db.session.flush()
        payment = payment_services.record_payment(
            invoice.customer, Decimal("50.00"), invoice.issue_date, currency=invoice.currency,
            allocations=[(invoice, Decimal("50.00"))], bank_line=line)
        payment_id = payment.id
        db.session.commit()
    return payment_id


def payment_of_invoice(tenant: Tenant, amount: str = "80.00") -> tuple[int, int]:
    """An issued invoice paid in part through the payment services (no bank statement):
    the payment's id and its allocation's."""
    from saas.billing.payments import services as payment_services

    invoice_id = issued_document(tenant)
    with scoping.tenant_context(tenant.id):
        invoice = db.session.get(Document, invoice_id)
        payment = payment_services.record_payment(
            invoice.customer, Decimal(amount), invoice.issue_date, currency=invoice.currency,
            allocations=[(invoice, Decimal(amount))])
        ids = payment.id, payment.allocations[0].id
        db.session.commit()
    return ids


class DeliveryFactory(TenantScopedFactory):
    """A logged e-mail delivery of a (draft) document."""

    class Meta:
        model = Delivery

    document = factory.SubFactory(DocumentFactory, tenant=factory.SelfAttribute("..tenant"))
    recipient = "kunde@example.com"
    subject = "Invoice"


class PostBatchFactory(TenantScopedFactory):
    class Meta:
        model = PostBatch

    pdf = b"%PDF-1.4 batch"


class ReminderPolicyFactory(TenantScopedFactory):
    class Meta:
        model = ReminderPolicy

    enabled = True
    interest_rate = Decimal("11.25")
    min_days_between = 7
    notify_after_days = 7


class ReminderLevelFactory(TenantScopedFactory):
    class Meta:
        model = ReminderLevel

    position = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Reminder {n + 1}")
    days_after_due = factory.Sequence(lambda n: 7 * (n + 1))
    tone = Tone.REMINDER


class ReminderFactory(TenantScopedFactory):
    """A reminder claimed for an (issued) invoice."""

    class Meta:
        model = Reminder

    document_id = factory.LazyAttribute(lambda o: issued_document(o.tenant))
    customer_id = factory.LazyAttribute(lambda o: _customer_of(o.tenant, o.document_id))
    level_day = 7
    level_name = "First reminder"
    reminded_on = factory.LazyFunction(date.today)
    currency = "EUR"


def _customer_of(tenant: Tenant, document_id: int) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.get(Document, document_id).customer_id


class ReminderPauseFactory(TenantScopedFactory):
    class Meta:
        model = ReminderPause

    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    customer_id = factory.LazyAttribute(lambda o: o.customer.id)
    reason = "Disputed"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.pop("customer", None)
        return super()._create(model_class, *args, **kwargs)


class TodoFactory(TenantScopedFactory):
    class Meta:
        model = Todo

    kind = TodoKind.UNPAID_AFTER_REMINDERS
    title = "Still unpaid after the last reminder"


class RecurringInvoiceFactory(TenantScopedFactory):
    """Monthly repetition of an issued invoice."""

    class Meta:
        model = RecurringInvoice

    source_id = factory.LazyAttribute(lambda o: issued_document(o.tenant))
    customer_id = factory.LazyAttribute(lambda o: _customer_of(o.tenant, o.source_id))
    start_date = factory.LazyFunction(date.today)
    next_date = factory.LazyFunction(date.today)


class RecurringOccurrenceFactory(TenantScopedFactory):
    class Meta:
        model = RecurringOccurrence

    recurring_id = factory.LazyAttribute(lambda o: RecurringInvoiceFactory(tenant=o.tenant).id)
    occurrence_date = factory.LazyFunction(date.today)


class ContractTypeFactory(TenantScopedFactory):
    class Meta:
        model = ContractType

    name = factory.Sequence(lambda n: f"Contract type {n}")


class ContractFactory(TenantScopedFactory):
    """A monthly contract in advance from today, for a customer of its own."""

    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"C-{n:05}")
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    start_date = factory.LazyFunction(date.today)
    currency = "NOK"


def _contract_id(tenant: Tenant) -> int:
    return ContractFactory(tenant=tenant).id


class ContractLineFactory(TenantScopedFactory):
    class Meta:
        model = ContractLine

    contract_id = factory.LazyAttribute(lambda o: _contract_id(o.tenant))
    line_key = 1
    effective_from = factory.LazyFunction(date.today)
    description = "Monitoring"
    quantity = Decimal(1)
    unit_price = Decimal("500.00")


class ContractAnnexFactory(TenantScopedFactory):
    class Meta:
        model = ContractAnnex

    contract_id = factory.LazyAttribute(lambda o: _contract_id(o.tenant))
    number = 1
    effective_date = factory.LazyFunction(lambda: date.today() + timedelta(days=30))


class ContractSiteFactory(TenantScopedFactory):
    class Meta:
        model = ContractSite

    contract_id = factory.LazyAttribute(lambda o: _contract_id(o.tenant))
    site_id = factory.LazyAttribute(lambda o: SiteFactory(tenant=o.tenant).id)


class BillingRunFactory(TenantScopedFactory):
    class Meta:
        model = BillingRun

    run_date = factory.LazyFunction(date.today)


class BilledPeriodFactory(TenantScopedFactory):
    """A contract's period on a (draft) invoice."""

    class Meta:
        model = BilledPeriod

    contract_id = factory.LazyAttribute(lambda o: _contract_id(o.tenant))
    period_start = factory.LazyFunction(lambda: date.today().replace(day=1))
    period_end = factory.LazyAttribute(lambda o: o.period_start + timedelta(days=28))
    document_id = factory.LazyAttribute(lambda o: DocumentFactory(tenant=o.tenant).id)


class VolumeUsageFactory(TenantScopedFactory):
    """Work recorded against a (flat-fee) contract line's included volume."""

    class Meta:
        model = VolumeUsage

    contract_id = factory.LazyAttribute(lambda o: _contract_id(o.tenant))
    line_key = 1
    used_on = factory.LazyFunction(date.today)
    quantity = Decimal("1.5")
    description = "Support call"


class PortalLinkFactory(TenantScopedFactory):
    """A sign-in link of a contact (its token is not kept: only a made-up hash)."""

    class Meta:
        model = PortalLink

    token_hash = factory.Sequence(lambda n: f"{n:064x}")
    purpose = LinkPurpose.SIGN_IN
    contact_id = factory.LazyAttribute(lambda o: ContactFactory(tenant=o.tenant).id)
    expires_at = factory.LazyFunction(lambda: datetime.now(UTC) + timedelta(minutes=30))


class StripeEventFactory(TenantScopedFactory):
    """A Stripe webhook event, stored and not yet processed."""

    class Meta:
        model = StripeEvent

    event_id = factory.Sequence(lambda n: f"evt_test_{n:024d}")
    type = "checkout.session.completed"
    payload = factory.LazyAttribute(lambda o: {"id": o.event_id, "type": o.type,
                                               "data": {"object": {}}})


class StripeConnectionFactory(TenantScopedFactory):
    """A tenant's Stripe Connect account (own keys need the app's cipher: see test_stripe)."""

    class Meta:
        model = StripeConnection

    kind = ConnectionKind.CONNECT
    account_id = factory.Sequence(lambda n: f"acct_test{n:08d}")


class QuoteResponseFactory(TenantScopedFactory):
    """A quote declined in the portal."""

    class Meta:
        model = QuoteResponse

    document_id = factory.LazyAttribute(
        lambda o: issued_document(o.tenant, DocumentKind.QUOTE))
    decision = QuoteDecision.DECLINED
    comment = "Too expensive"
    ip_address = "192.0.2.1"
