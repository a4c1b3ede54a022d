"""The demo's bank statement: a camt.053 made for the tenant's own invoices and imported,
so both the automatic matches and the matching queue have something to show."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from stdnum import luhn
from stdnum.iso7064 import mod_97_10

from saas.billing.catalog.models import VatRate
from saas.billing.customers.models import Customer
from saas.billing.documents import issuing
from saas.billing.documents import services as documents
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.payments.bank.services import import_statement
from saas.billing.payments.models import BankStatement
from saas.billing.payments.statements import ParsedLine
from saas.billing.payments.statements.camt053_writer import build_camt053
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import BankAccount, Tenant


def payment_reference(country: str, customer_number: int, sequence: int) -> str:
    """A reference with check digits: a KID (MOD10) in Norway, an RF elsewhere."""
    body = f"{customer_number:06d}{sequence:04d}"
    if country == "NO":
        return body + luhn.calc_check_digit(body)
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def seed_bank(tenant: Tenant) -> None:
    """Once per tenant: three invoices, and a statement paying them by reference, by
    number and by amount from a payer of the customer's name, with a gift nobody can
    place and the bank's fee."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(BankStatement.id).limit(1)) is not None:
            return
        account = db.session.scalar(select(BankAccount).order_by(
            BankAccount.is_default.desc(), BankAccount.id))
        customers = db.session.scalars(select(Customer).order_by(Customer.number)).all()
        vat_rate_id = _vat_rate_id()
        if account is None or not account.iban or not customers or vat_rate_id is None:
            return
        today = documents.today()
        first, second = customers[0], customers[-1]

        def issued(customer: Customer, price: str, description: str,
                   reference: str = "") -> Document:
            invoice = documents.create_document(DocumentKind.INVOICE, customer,
                                                {"payment_reference": reference})
            documents.add_line(invoice, {"description": description, "quantity": Decimal(1),
                                         "unit_price": Decimal(price),
                                         "vat_rate_id": vat_rate_id})
            issuing.issue_document(invoice, on=today - timedelta(days=12))
            return invoice

        # A company with KID or RF references has one made at issue; the others' invoices
        # carry one typed on the draft (their scheme takes any text).
        typed = ("" if tenant.reference_scheme != "invoice_number"
                 else payment_reference(tenant.country, first.number, 1))
        by_reference = issued(first, "1480.00", "Service agreement, November", typed)
        by_number = issued(second, "2260.00", "Repairs on site")
        by_name = issued(first, "312.40", "Spare parts")
        on, currency = today - timedelta(days=2), account.currency
        lines = [
            ParsedLine(on, by_reference.gross_total, currency, counterparty_name=first.name,
                       structured_reference=by_reference.payment_reference),
            ParsedLine(on, by_number.gross_total, currency,
                       counterparty_name=second.name.upper(),
                       remittance_text=f"Invoice {by_number.number}, thank you"),
            ParsedLine(on, by_name.gross_total, currency, counterparty_name=first.name.upper(),
                       remittance_text="Payment"),
            ParsedLine(on, Decimal("1537.00"), currency, counterparty_name="Ola Hansen",
                       remittance_text="Gift for the summer party"),
            ParsedLine(on, Decimal("-35.00"), currency, remittance_text="Account fee"),
        ]
        data = build_camt053(lines, account=account.iban, currency=currency,
                             statement_id=f"DEMO-{on:%Y%m%d}",
                             opening_balance=Decimal("25000.00"))
        import_statement(data, f"statement-{on:%Y-%m-%d}.xml", account, "camt053")
        db.session.commit()


def _vat_rate_id() -> int | None:
    return db.session.scalar(select(VatRate.id).where(VatRate.is_archived == False)  # noqa: E712
                             .order_by(VatRate.rate.desc(), VatRate.id).limit(1))
