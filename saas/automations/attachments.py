"""The generated documents that go with a document's e-mail (registered with the deliveries)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from saas.automations.models import DeliveryAttachment
from saas.billing.documents.delivery import DELIVERY_ATTACHMENTS
from saas.billing.documents.models import Delivery
from saas.extensions import db


def attachments_of(delivery: Delivery) -> tuple[tuple[str, str, bytes], ...]:
    """(filename, type, PDF) of each generated document attached to the delivery."""
    rows = db.session.scalars(select(DeliveryAttachment).where(
        DeliveryAttachment.delivery_id == delivery.id).order_by(DeliveryAttachment.id))
    return tuple((row.generated_document.filename, "application/pdf",
                  row.generated_document.pdf) for row in rows)


def init_app(app: Flask) -> None:
    app.extensions[DELIVERY_ATTACHMENTS] = attachments_of
