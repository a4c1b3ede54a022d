"""Cash in transit (R5.7): crew task cards of pick-ups and hand-overs, each priced apart.

Each service on a card is its own product (a pick-up, a hand-over, a night pick-up ...)
priced by the pricing engine. Completing a card captures one billable item per service
(event ``card_completed``); the item's source is the service (``cit_service``), so two
pick-ups of the same product on one card stay two items, each with its place and seal.
"""

from __future__ import annotations

from typing import Any

from saas.billing.catalog.models import Product
from saas.billing.work import items
from saas.billing.work.models import BillableItem
from saas.billing.work.source_common import SourceError, next_number, own_customer, own_site
from saas.billing.work.source_models import CitCard, CitService, CitServiceKind, SourceStatus
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.models import utcnow

SOURCE_TYPE = "cit_service"
EVENT = "card_completed"


def create_card(values: dict[str, Any]) -> CitCard:
    """A crew's card for a customer and a day."""
    customer = own_customer(values.get("customer_id"))
    if values.get("served_on") is None:
        raise SourceError("Give the day of the run.", "served_on")
    card = CitCard(
        number=next_number(CitCard, "K"),
        customer_id=customer.id,
        customer=customer,
        crew=(values.get("crew") or "").strip()[:200],
        served_on=values["served_on"],
    )
    db.session.add(card)
    db.session.flush()
    audit.record("work.cit_card_created", card, f"Card {card.number} for {customer.name}")
    return card


def add_service(card: CitCard, values: dict[str, Any]) -> CitService:
    """A pick-up or hand-over on the card."""
    if card.status is not SourceStatus.OPEN:
        raise SourceError(f"Card {card.number} is completed.")
    try:
        kind = CitServiceKind(values.get("kind") or "")
    except ValueError:
        raise SourceError("Choose pick-up or hand-over.", "kind") from None
    product = (
        db.session.get(Product, values.get("product_id")) if values.get("product_id") else None
    )
    if product is None:
        raise SourceError("Choose the service's product from the price list.", "product_id")
    site = own_site(card.customer, values.get("site_id"))
    service = CitService(
        card_id=card.id,
        kind=kind,
        product_id=product.id,
        site_id=site.id if site else None,
        place=(values.get("place") or "").strip()[:200],
        seal=(values.get("seal") or "").strip()[:60],
    )
    db.session.add(service)
    db.session.flush()
    db.session.expire(card, ["services"])
    return service


def remove_service(card: CitCard, service_id: int) -> None:
    if card.status is not SourceStatus.OPEN:
        raise SourceError(f"Card {card.number} is completed.")
    service = db.session.get(CitService, service_id)
    if service is None or service.card_id != card.id:
        raise SourceError("That service is not on this card.")
    db.session.delete(service)
    db.session.flush()
    db.session.expire(card, ["services"])


def complete_card(card: CitCard) -> list[BillableItem]:
    """The card is done: one billable item per service."""
    if card.status is not SourceStatus.OPEN:
        raise SourceError(f"Card {card.number} is completed already.")
    if not card.services:
        raise SourceError("Add the card's pick-ups and hand-overs first.")
    captured: list[BillableItem] = []
    for service in card.services:
        where = " ".join(filter(None, (service.site.code if service.site else "", service.place)))
        description = (
            f"{service.kind.label} — card {card.number}"
            + (f", {where}" if where else "")
            + (f", seal {service.seal}" if service.seal else "")
        )
        captured += items.capture(
            event=EVENT,
            customer=card.customer,
            source_type=SOURCE_TYPE,
            source_id=service.id,
            occurred_on=card.served_on,
            quantity=1,
            site=service.site,
            product=service.product,
            description=description,
        )
    card.status, card.completed_at = SourceStatus.COMPLETED, utcnow()
    db.session.flush()
    audit.record(
        "work.cit_card_completed", card, f"Card {card.number} completed: {len(captured)} service(s)"
    )
    return captured


def reopen_card(card: CitCard) -> None:
    """Back to open: the services' open items are withdrawn (refused once invoiced)."""
    try:
        for service in card.services:
            items.withdraw(SOURCE_TYPE, service.id)
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    card.status, card.completed_at = SourceStatus.OPEN, None
    db.session.flush()
