"""The customer's account statement in the portal (R6.1): balance, ageing, movements, PDF.

The same statement staff see on the customer's page (``payments.accounts``, read from the
journal) and the same ageing buckets as the receivables report (``reports.ageing``), for
the signed-in contact's own customer only. The PDF is the statement letter staff print
(``payments.statement_pdf``), in the customer's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from saas.billing.customers.models import Customer
from saas.billing.documents.delivery import current_branding
from saas.billing.documents.issuing import snapshot_buyer, snapshot_seller
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.payments import services as payments
from saas.billing.payments.accounts import Statement, account_statement, statement_currencies
from saas.billing.payments.statement_pdf import Movement, StatementLetter, render_statement
from saas.billing.reports import ageing
from saas.extensions import db

ZERO = Decimal(0)
MONTHS_SHOWN = 12


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months: from the first of the month a year ago, to today."""
    months = today.year * 12 + today.month - 1 - (MONTHS_SHOWN - 1)
    return date(months // 12, months % 12 + 1, 1), today


@dataclass(frozen=True)
class PortalStatement:
    statement: Statement
    currencies: list[str]
    ageing: ageing.AgeingRow  # the customer's open invoices by days past due, and credit
    document_keys: dict[int, str]  # document id → public id, for the lines' links

    @property
    def balance(self) -> Decimal:
        """What the customer owes today (negative: what we owe them)."""
        return self.ageing.balance


def customer_credit(customer: Customer, currency: str) -> Decimal:
    """Payments not allocated and credit notes not applied: to the customer's credit."""
    notes = db.session.scalars(
        select(Document).where(
            Document.customer_id == customer.id,
            Document.currency == currency,
            Document.kind == DocumentKind.CREDIT_NOTE,
            Document.number.is_not(None),
        )
    )
    left = sum((payments.credit_note_left(note) for note in notes), ZERO)
    return payments.customer_credit(customer.id, currency) + left


def customer_ageing(customer: Customer, currency: str, on: date) -> ageing.AgeingRow:
    """The customer's row of the receivables ageing, today."""
    who = ageing.Customer(customer.id, customer.number, customer.name)
    invoices = [
        ageing.OpenInvoice(who, invoice.id, invoice.number, invoice.due_date, invoice.open_amount)
        for invoice in payments.open_invoices(customer.id, currency)
    ]
    found = ageing.age(invoices, {who: customer_credit(customer, currency)}, on, currency)
    return found.rows[0] if found.rows else found.totals


def portal_statement(
    customer: Customer,
    currency: str | None,
    date_from: date | None,
    date_to: date | None,
    today: date,
) -> PortalStatement:
    """The statement the customer asks for (a currency of theirs, a period)."""
    currencies = statement_currencies(customer)
    if currency not in currencies:
        currency = currencies[0]
    start, end = default_period(today)
    date_from, date_to = date_from or start, date_to or end
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    statement = account_statement(customer, currency, date_from, date_to)
    ids = {line.document_id for line in statement.lines if line.document_id}
    keys = (
        dict(
            db.session.execute(
                select(Document.id, Document.public_id).where(
                    Document.id.in_(ids), Document.customer_id == customer.id
                )
            ).all()
        )
        if ids
        else {}
    )
    return PortalStatement(statement, currencies, customer_ageing(customer, currency, today), keys)


def statement_pdf(found: Statement, today: date) -> bytes:
    """The statement as the letter staff print, in the customer's language."""
    customer = found.customer
    branding = current_branding()
    letter = StatementLetter(
        language=customer.language,
        currency=found.currency,
        statement_date=today,
        date_from=found.date_from,
        date_to=found.date_to,
        seller=snapshot_seller(found.currency),
        buyer=snapshot_buyer(customer),
        opening=found.opening,
        movements=tuple(
            Movement(
                line.posted_on, line.text, line.due_date, line.charge, line.payment, line.balance
            )
            for line in found.lines
        ),
        logo=branding.logo if branding is not None else None,
    )
    return render_statement(letter)
