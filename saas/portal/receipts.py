"""The receipt e-mailed to the customer once a payment by card (Stripe) is recorded: what
was received, which invoices it settles, what is kept to their credit, and a link to the
portal. In the customer's language; queued after the commit that records the payment."""

from __future__ import annotations

from saas.billing.documents.delivery import current_branding
from saas.billing.documents.emails import brand, render_email
from saas.billing.documents.i18n import Formatter
from saas.billing.documents.issuing import invoice_email
from saas.billing.payments import services as payments
from saas.billing.payments.models import Payment
from saas.extensions import db
from saas.mail import Mail, queue_email
from saas.tenants import scoping
from saas.tenants.models import Tenant
from saas.tenants.services import absolute_url


def receipt_mail(payment: Payment) -> Mail | None:
    """The receipt for the payment; None when the customer has no e-mail for invoices."""
    customer = payment.customer
    to = invoice_email(customer)
    if not to:
        return None
    f = Formatter.for_language(customer.language)
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    branding = current_branding()
    seller = (branding.email_sender_name if branding else "") or tenant.display_name
    subject = f.gettext("Receipt for your payment to %(seller)s", seller=seller)
    credit = payments.unallocated(payment)
    content = render_email("portal_receipt", subject, {
        "_": f.gettext, "lang": f.language,
        "brand": brand({"name": tenant.display_name}, branding),
        "seller_name": seller, "customer_name": customer.name,
        "received": f.gettext("We have received %(amount)s by card on %(date)s. Thank you.",
                              amount=f.amount(payment.amount, payment.currency),
                              date=f.date(payment.received_on)),
        "settled": [(allocation.invoice.number, f.amount(allocation.amount, payment.currency))
                    for allocation in payment.allocations if allocation.reversed_at is None],
        "credit": f.gettext("%(amount)s is kept to your credit.",
                            amount=f.amount(credit, payment.currency)) if credit > 0 else "",
        "portal_url": absolute_url("portal.documents_list", tenant_slug=tenant.slug),
        "button_label": f.gettext("See your invoices"),
    })
    return Mail(to=to, subject=content.subject, text=content.text, html=content.html,
                sender_name=seller, reply_to=branding.reply_to if branding else "")


def send_receipt(payment: Payment) -> bool:
    """Queue the receipt (once per payment: the job id is the payment's); whether one went."""
    mail = receipt_mail(payment)
    if mail is None:
        return False
    queue_email(mail, job_id=f"receipt-{scoping.require_tenant_id()}-{payment.id}")
    return True
