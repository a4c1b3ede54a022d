"""Idempotency keys: a POST sent again with the same key is answered, not done again.

The key row is inserted *before* the work, in the same transaction: a second request with
the same key waits on the unique index until the first commits (or rolls back), then
finds its stored answer. A failed request rolls its key row back with everything else,
so the client may retry it. Keys last 24 hours (swept by ``expire_keys``; an expired
key met again is deleted then and there).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, g, jsonify, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from saas import clock
from saas.api.errors import ApiError
from saas.api.models import IdempotencyKey
from saas.extensions import db
from saas.queue import job
from saas.tenants import scoping
from saas.tenants.models import Tenant

LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def fingerprint() -> str:
    """What makes two requests the same: method, path, query and body."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.full_path}\n".encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def run_once(key: str, work: Callable[[], tuple[Any, int]]) -> Response:
    """Do the work and keep its answer under the key, or answer as the first time."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(400, "invalid_idempotency_key",
                       f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} characters.")
    token_id, printed = g.api_token.id, fingerprint()
    db.session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.token_id == token_id, IdempotencyKey.key == key,
        IdempotencyKey.created_at < clock.now() - LIFETIME))
    row = IdempotencyKey(token_id=token_id, key=key, fingerprint=printed)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return _answer_again(token_id, key, printed)
    body, status = work()
    if isinstance(body, Response):  # not JSON: nothing to keep, the key only guards
        db.session.commit()
        return body
    row.response_status, row.response_body = status, body
    db.session.commit()
    response = jsonify(body)
    response.status_code = status
    return response


def _answer_again(token_id: int, key: str, printed: str) -> Response:
    stored = db.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.token_id == token_id, IdempotencyKey.key == key))
    if stored is None or stored.response_status is None:
        raise ApiError(409, "idempotency_key_in_use",
                       "A request with this Idempotency-Key is still being processed.")
    if stored.fingerprint != printed:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was used for a different request;"
                       " use a new key for a new request.")
    response = jsonify(stored.response_body)
    response.status_code = stored.response_status
    response.headers["Idempotent-Replayed"] = "true"
    return response


def expire_keys() -> int:
    """Delete the current tenant's keys older than their lifetime; return how many."""
    result = db.session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.created_at < clock.now() - LIFETIME))
    return result.rowcount or 0


@job
def sweep_idempotency_keys() -> int:
    """Scheduler job: delete every tenant's expired idempotency keys; how many in all."""
    deleted = 0
    for tenant_id in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
        with scoping.tenant_context(tenant_id):
            deleted += expire_keys()
        db.session.commit()
    return deleted
