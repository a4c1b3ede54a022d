"""Sending issued documents by e-mail (R3.4), with a delivery log per message.

``send_document`` records a queued delivery and asks for the ``deliver_document`` job after
commit (job id per delivery: asking twice queues once). The job sends the e-mail with the
stored PDF attached and records the outcome: sent with its Message-ID, or failed with the
server's reply (RQ retries it with backoff; *Resend* makes a new delivery). A delivery
that is already sent is never sent again, so a job that runs twice sends once: delivery
is at most once per delivery row.
"""

from __future__ import annotations

from flask import render_template
from rq import Retry
from sqlalchemy import select

from saas.billing.documents.issuing import invoice_email
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.documents.services import DocumentError
from saas.extensions import db
from saas.mail import Mail, send_now
from saas.queue import enqueue, job
from saas.tenants import audit, scoping
from saas.tenants.models import Branding, utcnow

SUBJECTS = {
    "en": "{title} from {seller}",
    "pl": "{title} od {seller}",
    "cs": "{title} od {seller}",
    "nb": "{title} fra {seller}",
    "sr": "{title} od {seller}",
    "ro": "{title} de la {seller}",
}


def default_recipient(document: Document) -> str:
    """The buyer's invoice address as issued, else a contact who receives invoices."""
    return (document.buyer or {}).get("email", "") or invoice_email(document.customer)


def send_document(document: Document, recipient: str | None = None,
                  user_id: int | None = None) -> Delivery:
    """Queue an e-mail carrying the issued document's PDF to the recipient."""
    if not document.is_issued:
        raise DocumentError("Only an issued document can be sent: issue it first.")
    recipient = (recipient or default_recipient(document)).strip()
    if not recipient or "@" not in recipient:
        raise DocumentError(
            f"{document.customer.name} has no e-mail address for invoices: enter one.",
            "recipient")
    subject = SUBJECTS.get(document.language, SUBJECTS["en"]).format(
        title=document.title, seller=(document.seller or {}).get("name", ""))
    delivery = Delivery(document_id=document.id, recipient=recipient, subject=subject[:300],
                        created_by_id=user_id)
    db.session.add(delivery)
    db.session.flush()
    audit.record("documents.sent", document, f"{document.title} queued to {recipient}",
                 user_id=user_id)
    enqueue(deliver_document, delivery.id, tenant_id=scoping.require_tenant_id(),
            queue="email", job_id=f"delivery-{delivery.id}",
            retry=Retry(max=3, interval=[10, 60, 300]))
    return delivery


@job
def deliver_document(delivery_id: int) -> None:
    """Background job: send one delivery, once; record the outcome either way."""
    delivery = db.session.scalar(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update())
    if delivery is None or delivery.status == DeliveryStatus.SENT:
        return
    document = delivery.document
    branding = db.session.scalar(select(Branding))
    delivery.attempts += 1
    context = {"document": document, "seller": document.seller or {},
               "buyer": document.buyer or {}}
    mail = Mail(
        to=delivery.recipient,
        subject=delivery.subject,
        text=render_template("documents/email.txt", **context),
        html=render_template("documents/email.html", **context),
        sender_name=(branding.email_sender_name if branding else "")
        or (document.seller or {}).get("name", ""),
        attachments=((f"{document.number}.pdf".replace("/", "-"), "application/pdf",
                      document.pdf or b""),),
    )
    try:
        delivery.message_id = send_now(mail)
    except Exception as exc:  # the server's reply, for the log; RQ retries the job
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = str(exc)[:2000] or type(exc).__name__
        db.session.commit()
        raise
    delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, utcnow(), ""


def deliveries_of(document: Document) -> list[Delivery]:
    return db.session.scalars(select(Delivery).where(Delivery.document_id == document.id)
                              .order_by(Delivery.id.desc())).all()
