"""Sending issued documents by e-mail (R3.4), with a delivery log per message.

``send_document`` records a queued delivery and asks for the ``deliver_document`` job after
commit (job id per delivery: asking twice queues once). Jobs send deliveries through
``deliver``, which follows one protocol for documents and reminders alike:

1. *Claim*: under a row lock, mark the delivery ``sending``, fix its Message-ID, note the
   job that claims it and when, count the attempt; commit.
2. *Send* the message (PDF attached) through SMTP or to the outbox.
3. *Record* the outcome: ``sent`` with the time, or ``failed`` with the server's reply.
   A failed delivery makes the job raise, so RQ retries it with backoff; *Resend* on the
   document page makes a new delivery.

Delivery is **at least once**, by choice: a reminder or invoice that never arrives costs
the tenant money, a duplicate costs a second look. A job killed between claim and send is
retried and sends the message once. A job killed after the server accepted the message but
before step 3 committed sends it again on retry — with the same Message-ID, which mail
clients and servers use to show one copy. A sent delivery is never sent again, and a
claim held by another live job (younger than ``CLAIM_TIMEOUT``) is left to that job, so
two workers never send one delivery at the same time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta

from flask import current_app
from rq import get_current_job
from sqlalchemy import select, update

from saas import clock
from saas.billing.documents.emails import document_email
from saas.billing.documents.issuing import invoice_email
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.documents.printing import issued_pdf
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.mail import Mail, Postman, new_message_id, postman
from saas.queue import MAIL_QUEUE, enqueue, job, mail_retry
from saas.tenants import audit, scoping
from saas.tenants.models import Branding
from saas.tenants.services import stored_branding

# A claim older than this is taken to be from a job that died; longer than any mail job runs.
CLAIM_TIMEOUT = timedelta(minutes=15)
FINISHED = (DeliveryStatus.SENT, DeliveryStatus.CANCELLED)
# The customer portal, which billing does not import, makes the link that opens a document
# online: create_app registers a callable (document, recipient) -> URL under this key.
DOCUMENT_LINK = "saas.document_link"
# Files other packages add to a document's e-mail (automations: a contract generated for the
# deal): a callable (delivery) -> ((filename, type, bytes), ...) registered under this key.
DELIVERY_ATTACHMENTS = "saas.delivery_attachments"


class DeliveryFailed(Exception):
    """Some deliveries of a job failed; raised after the others went out, so RQ retries."""

    @classmethod
    def of(cls, delivery_ids: Sequence[int], out_of: int) -> DeliveryFailed:
        errors = db.session.scalars(select(Delivery.last_error).where(
            Delivery.id.in_(list(delivery_ids))).order_by(Delivery.id)).all()
        return cls(f"{len(delivery_ids)} of {out_of} failed: " + "; ".join(errors))


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
    content = document_email(document, current_branding())
    delivery = Delivery(document_id=document.id, recipient=recipient,
                        subject=content.subject[:300], created_by_id=user_id)
    db.session.add(delivery)
    db.session.flush()
    audit.record("documents.sent", document, f"{document.title} queued to {recipient}",
                 user_id=user_id)
    enqueue(deliver_document, delivery.id, tenant_id=scoping.require_tenant_id(),
            queue=MAIL_QUEUE, job_id=f"delivery-{delivery.id}", retry=mail_retry())
    return delivery


def resend(delivery: Delivery, user_id: int | None = None) -> Delivery:
    """Send a failed (or any) delivery's message again, as a new delivery."""
    again = Delivery(document_id=delivery.document_id, recipient=delivery.recipient,
                     subject=delivery.subject, reminder_id=delivery.reminder_id,
                     created_by_id=user_id)
    db.session.add(again)
    db.session.flush()
    audit.record("documents.resent", delivery.document,
                 f"{delivery.subject} queued again to {delivery.recipient}", user_id=user_id)
    enqueue(deliver_document, again.id, tenant_id=scoping.require_tenant_id(),
            queue=MAIL_QUEUE, job_id=f"delivery-{again.id}", retry=mail_retry())
    return again


@job
def deliver_document(delivery_id: int) -> None:
    """Background job: send one delivery."""
    deliver([delivery_id])


def deliver(delivery_ids: Sequence[int], carrier: Postman | None = None) -> int:
    """Send the deliveries (one SMTP connection); return how many went out now.

    Raises DeliveryFailed after trying them all when any failed, so the job is retried.
    """
    if carrier is None:
        with postman() as own:
            return deliver(delivery_ids, own)
    worker = _claimant()
    sent, failed = 0, []
    for delivery_id in delivery_ids:
        outcome = deliver_one(delivery_id, carrier, worker)
        sent += outcome is True
        if outcome is False:
            failed.append(delivery_id)
    if failed:
        raise DeliveryFailed.of(failed, len(delivery_ids))
    return sent


def deliver_one(delivery_id: int, carrier: Postman, worker: str) -> bool | None:
    """Claim, send and record one delivery: True sent now, False failed, None nothing to do."""
    delivery = db.session.scalar(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update())
    if delivery is None or delivery.status in FINISHED or _claimed_elsewhere(delivery, worker):
        db.session.commit()
        return None
    compose = _composer(delivery)
    if compose is None:  # nothing to send any more (a reminder of an invoice since paid)
        delivery.status = DeliveryStatus.CANCELLED
        db.session.commit()
        return None
    reminder_id = delivery.reminder_id
    claim(delivery, worker)
    mail = compose(delivery)
    db.session.commit()  # the claim: from here a crash means "retry with this Message-ID"
    return send_claimed(delivery_id, reminder_id, mail, carrier)


def claim(delivery: Delivery, worker: str) -> None:
    """Mark a delivery as being sent by this job, with its Message-ID fixed (commit after)."""
    delivery.status = DeliveryStatus.SENDING
    delivery.message_id = delivery.message_id or new_message_id()
    delivery.claimed_by, delivery.claimed_at = worker, clock.now()
    delivery.attempts = (delivery.attempts or 0) + 1


def send_claimed(delivery_id: int, reminder_id: int | None, mail: Mail,
                 carrier: Postman) -> bool:
    """Send a claimed delivery's message and record the outcome; True when sent."""
    try:
        carrier.send(mail)
    except Exception as exc:  # the server's reply, for the log and the page
        db.session.rollback()
        record(delivery_id, reminder_id, DeliveryStatus.FAILED,
               str(exc)[:2000] or type(exc).__name__)
        return False
    record(delivery_id, reminder_id, DeliveryStatus.SENT, "")
    return True


def record(delivery_id: int, reminder_id: int | None, status: DeliveryStatus,
           error: str) -> None:
    """Write a delivery's outcome (and its reminder's) and commit, without waiting for the disk.

    Lost in a database crash, the outcome only means the message is sent again (at least
    once, same Message-ID); the claim, written before sending, is committed durably.
    """
    db.session.commit()  # the transaction that records begins below, with the setting
    db.session.info[scoping.ASYNC_COMMIT] = True
    try:
        values: dict[str, object] = {"status": status, "last_error": error}
        if status == DeliveryStatus.SENT:
            values["sent_at"] = clock.now()
        db.session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values),
                           execution_options={"synchronize_session": False})
        if reminder_id is not None:
            from saas.billing.reminders.sending import mirror_outcome

            mirror_outcome(reminder_id, status, error)
        db.session.commit()
    finally:
        db.session.info.pop(scoping.ASYNC_COMMIT, None)


def _claimant() -> str:
    """The claiming job's id (the same when RQ retries it), or a one-off id in-process."""
    current = get_current_job()
    return current.id[:64] if current is not None else f"inline-{uuid.uuid4().hex}"


def _claimed_elsewhere(delivery: Delivery, worker: str) -> bool:
    if delivery.status != DeliveryStatus.SENDING or delivery.claimed_by == worker:
        return False
    claimed_at = delivery.claimed_at
    if claimed_at is None:
        return False
    if claimed_at.tzinfo is None:  # SQLite keeps no zone: the app stores UTC
        claimed_at = claimed_at.replace(tzinfo=UTC)
    return clock.now() - claimed_at < CLAIM_TIMEOUT


def current_branding() -> Branding | None:
    """The current tenant's branding (sender name, reply-to, colour), if it has one."""
    return stored_branding()


def _composer(delivery: Delivery) -> Callable[[Delivery], Mail] | None:
    if delivery.reminder_id is not None:
        from saas.billing.reminders.sending import reminder_composer

        return reminder_composer(delivery)
    return _document_mail


def _document_mail(delivery: Delivery) -> Mail:
    document = delivery.document
    branding = current_branding()
    # A new link per message (only its hash is kept), committed with the claim.
    content = document_email(document, branding,
                             portal_url=portal_url(document, delivery.recipient))
    return Mail(
        to=delivery.recipient,
        subject=delivery.subject,
        text=content.text,
        html=content.html,
        sender_name=sender_name(branding, document),
        reply_to=branding.reply_to if branding else "",
        attachments=(pdf_attachment(document), *_extra_attachments(document),
                     *_added_attachments(delivery)),
        message_id=delivery.message_id,
    )


def _extra_attachments(document: Document) -> tuple[tuple[str, str, bytes], ...]:
    """An invoice that billed work items carries their specification (R5.9)."""
    if document.kind != DocumentKind.INVOICE:
        return ()
    from saas.billing.work.specification import attachment

    found = attachment(document)
    return (found,) if found is not None else ()


def _added_attachments(delivery: Delivery) -> tuple[tuple[str, str, bytes], ...]:
    add = current_app.extensions.get(DELIVERY_ATTACHMENTS)
    return tuple(add(delivery)) if add is not None else ()


def portal_url(document: Document, recipient: str) -> str | None:
    """A link that opens the document in the customer portal, when a portal is set up."""
    make = current_app.extensions.get(DOCUMENT_LINK)
    return make(document, recipient) if make is not None else None


def sender_name(branding: Branding | None, document: Document) -> str:
    return (branding.email_sender_name if branding else "") or (
        document.seller or {}).get("name", "")


def pdf_attachment(document: Document) -> tuple[str, str, bytes]:
    return (f"{document.number}.pdf".replace("/", "-"), "application/pdf", issued_pdf(document))


def deliveries_of(document: Document) -> list[Delivery]:
    return db.session.scalars(select(Delivery).where(Delivery.document_id == document.id)
                              .order_by(Delivery.id.desc())).all()
