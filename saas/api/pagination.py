"""Cursor pagination: pages by id (keyset), so a page costs the same wherever it is."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select

from saas.api.errors import ApiError
from saas.api.schemas import MAX_ID, ListQuery
from saas.extensions import db


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues after, or 400 ``invalid_cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        after = None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_ID:
        raise ApiError(400, "invalid_cursor", "The cursor is not one this API gave out.",
                       [{"field": "cursor", "message": "Not a valid cursor."}])
    return after


def page(statement: Select, id_column: Any, query: ListQuery,
         load: Callable[[list[Any]], Any] | None = None) -> dict[str, Any]:
    """One page of the statement's rows in id order: ``{"data", "next_cursor"}``.

    ``load`` may fetch what the rows' serialisation needs in a bounded number of queries.
    """
    if query.cursor:
        statement = statement.where(id_column > decode_cursor(query.cursor))
    rows = list(db.session.scalars(statement.order_by(id_column).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    if load is not None:
        load(rows)
    return {"data": rows, "next_cursor": encode_cursor(rows[-1].id) if more else None}
