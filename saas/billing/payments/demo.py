"""Demo payments: invoices paid in full, one in part, a customer with credit.

Run after the other demos, on the invoices they issued: the second customer's monthly
invoices are paid on their due dates except the newest, and the invoice its credit note
corrected is paid with more than is left of it (the rest is the customer's credit); the
first customer has paid half of the invoice made from its order, and nothing of the
overdue one the reminders are about. The credit note itself was applied to its invoice
when it was issued. So the payments list, the receivables ageing and the customers'
statements have something to show.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.money import quantize_money
from saas.billing.payments import services
from saas.billing.payments.models import Payment, PaymentMethod
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.access import tenant_today_of
from saas.tenants.models import Tenant

CREDIT = Decimal(500)  # what the second customer paid too much


def _open(customer: Customer) -> list[Document]:
    return services.open_invoices(customer.id, customer.currency)


def _paid_on(invoice: Document, today: date) -> date:
    return min(invoice.due_date or invoice.issue_date, today)


def seed_payments(tenant: Tenant) -> None:
    """Once per tenant: the payments described above."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(Payment.id).limit(1)) is not None:
            return
        customers = db.session.scalars(select(Customer).order_by(Customer.number)).all()
        if len(customers) < 2:
            return
        today = tenant_today_of(tenant.id)
        first, second = customers[0], customers[1]
        corrected = [doc for doc in _open(second) if _credit_notes(doc)]
        monthly = [doc for doc in _open(second) if doc not in corrected]
        for invoice in sorted(monthly, key=lambda doc: (doc.issue_date, doc.id))[:-1]:
            services.record_payment(second, invoice.open_amount, _paid_on(invoice, today),
                                    reference=invoice.payment_reference or invoice.number,
                                    allocations=[(invoice, invoice.open_amount)])
        for invoice in corrected:
            services.record_payment(second, invoice.open_amount + CREDIT,
                                    _paid_on(invoice, today), method=PaymentMethod.BANK,
                                    reference=invoice.number,
                                    allocations=[(invoice, invoice.open_amount)])
        from_order = [doc for doc in _open(first) if doc.source_id is not None]
        for invoice in from_order[:1]:
            half = quantize_money(invoice.open_amount / 2, invoice.currency)
            services.record_payment(first, half, min(invoice.issue_date + timedelta(days=3),
                                                     today),
                                    method=PaymentMethod.CARD, reference="Card terminal",
                                    allocations=[(invoice, half)])
        db.session.commit()


def _credit_notes(invoice: Document) -> list[int]:
    return list(db.session.scalars(select(Document.id).where(
        Document.source_id == invoice.id, Document.kind == K.CREDIT_NOTE,
        Document.number.is_not(None))))
