"""Factories and helpers for bank statements: statements and lines, invoices to pay, and
camt.053 files built for a test."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal
from pathlib import Path

import factory

from saas.billing.customers.models import Customer
from saas.billing.documents import issuing
from saas.billing.documents import services as document_services
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.payments.models import BankLine, BankStatement, StatementFormat
from saas.billing.payments.statements import ParsedLine
from saas.billing.payments.statements.camt053_writer import build_camt053
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant
from tests.factories import BankAccountFactory, TenantScopedFactory, VatRateFactory

SAMPLES = Path(__file__).resolve().parent / "samples" / "bank"
ACCOUNT = "NO9386011117947"  # BankAccountFactory's IBAN


class BankStatementFactory(TenantScopedFactory):
    class Meta:
        model = BankStatement

    bank_account_id = factory.LazyAttribute(
        lambda o: BankAccountFactory(tenant=o.tenant).id)
    format = StatementFormat.CAMT053
    file_name = "statement.xml"
    file_sha256 = factory.LazyFunction(lambda: secrets.token_hex(32))
    account = ACCOUNT
    currency = "NOK"
    line_count = 1


class BankLineFactory(TenantScopedFactory):
    class Meta:
        model = BankLine

    statement = factory.SubFactory(BankStatementFactory, tenant=factory.SelfAttribute("..tenant"))
    position = factory.Sequence(lambda n: n + 1)
    booked_on = date(2026, 11, 2)
    amount = Decimal("100.00")
    currency = "NOK"
    counterparty_name = "Someone"


def open_invoice(tenant: Tenant, customer_id: int, amount: str, reference: str = "",
                 on: date = date(2026, 11, 1)) -> int:
    """An issued invoice of the customer whose gross total is the amount (no VAT); its id."""
    vat_id = VatRateFactory(tenant=tenant, rate=Decimal(0), code=f"Z{secrets.token_hex(3)}").id
    with scoping.tenant_context(tenant.id):
        customer = db.session.get(Customer, customer_id)
        invoice = document_services.create_document(
            DocumentKind.INVOICE, customer, {"payment_reference": reference})
        document_services.add_line(invoice, {"description": "Service", "quantity": Decimal(1),
                                             "unit_price": Decimal(amount),
                                             "vat_rate_id": vat_id})
        issuing.issue_document(invoice, on=on, render=False)
        invoice_id = invoice.id
        db.session.commit()
    return invoice_id


def invoice(tenant: Tenant, invoice_id: int) -> Document:
    with scoping.tenant_context(tenant.id):
        found = db.session.get(Document, invoice_id)
        db.session.refresh(found)
        return found


def credit(amount: str, *, name: str = "", account: str = "", reference: str = "",
           text: str = "", on: date = date(2026, 11, 20), currency: str = "NOK") -> ParsedLine:
    """A statement line of money in (a negative amount: out)."""
    return ParsedLine(booked_on=on, amount=Decimal(amount), currency=currency,
                      counterparty_name=name, counterparty_account=account,
                      structured_reference=reference, remittance_text=text)


def camt(*lines: ParsedLine, statement_id: str = "STMT-1", account: str = ACCOUNT,
         currency: str = "NOK") -> bytes:
    return build_camt053(lines, account=account, currency=currency, statement_id=statement_id)
