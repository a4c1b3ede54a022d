"""Domain events: what happened, written in the same transaction as the change (an outbox).

Services (or the flush hook in ``billing/events.py``) call ``record_many(rows)``;
the row commits or rolls back with the change itself, so no event is told about a change
that did not happen and no change goes untold. Once the transaction commits, a job per
tenant hands the new events, oldest first, to every registered consumer (outbound
webhooks, automations) and marks them handed over; a sweep every few minutes picks up
whatever a lost job left behind (Redis down, worker killed).

Consumers are called inside the event's tenant and transaction. They must be quick and
idempotent per event (write their own rows under a unique key that includes the event id,
and ask for their own jobs for the real work), because an event whose hand-over failed is
handed over again, to every consumer.
"""

from __future__ import annotations

from saas.events.models import DomainEvent
from saas.events.services import (
    EVENT_NAMES,
    consumer,
    dispatch_pending,
    record_many,
)

__all__ = ["EVENT_NAMES", "DomainEvent", "consumer", "dispatch_pending", "record_many"]
