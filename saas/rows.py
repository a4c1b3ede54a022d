"""Many rows in one statement on PostgreSQL, as one JSON document of records.

``INSERT ... SELECT ... FROM json_to_recordset(:rows)`` sends a statement's lines (or a
booking plan) as one parameter, however many rows: a multi-row VALUES would send, and
have the driver rewrite, thousands of parameters, and a Python list per column costs
more to send than the same values in JSON. Ids come from the table's sequence first, so
the caller knows every row's id, in order. Rows are written in the current tenant
(``tenant_id`` set here; row-level security checks it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, JSON, Table, TextClause, any_, bindparam, false, insert, text
from sqlalchemy.dialects import postgresql

from saas.extensions import db
from saas.tenants import scoping


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def one_of(expression: Any, values: Iterable[Any], item_type: Any) -> Any:
    """``expression`` is one of the values: ``= ANY(array)`` on PostgreSQL, else ``IN``.

    One array parameter, however many values: an expanding ``IN`` of thousands of values
    renders, sends and has the driver parse a placeholder each.
    """
    values = list(values)
    if not values:
        return false()
    if on_postgresql():
        return expression == any_(bindparam(None, values, type_=ARRAY(item_type)))
    return expression.in_(values)


def as_json(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as a JSON array: decimals and dates as text, exactly as they are."""
    return json.dumps(rows, default=_plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | date | datetime):
        return value.isoformat() if isinstance(value, date | datetime) else str(value)
    raise TypeError(f"{type(value).__name__} is not written as JSON")


def new_ids(table: str, count: int) -> list[int]:
    """Ids for rows about to be inserted, from the table's sequence."""
    if count <= 0:
        return []
    # The sequence looked up once (in the subquery), not for each id: the lookup, from a
    # name to the sequence, costs many times what nextval does.
    return list(db.session.scalars(
        text("SELECT nextval(q.sequence) FROM (SELECT CAST(pg_get_serial_sequence(:table,"
             " 'id') AS regclass) AS sequence OFFSET 0) AS q, generate_series(1, :count)"),
        {"table": table, "count": count}))


@cache
def _sql_type(table: Table, name: str) -> str:
    column = table.c[name]
    if isinstance(column.type, JSON):
        return "json"
    return column.type.compile(dialect=postgresql.dialect())


def _with_defaults(table: Table, rows: list[dict[str, Any]]) -> list[str]:
    """The columns to write: the rows' own, and those with a Python-side default."""
    given = list(rows[0])
    for column in table.c:
        if column.name in given or column.name in ("id", "tenant_id"):
            continue
        default = column.default
        if default is not None and not getattr(default, "is_sequence", False):
            given.append(column.name)
            for row in rows:
                row[column.name] = default.arg(None) if default.is_callable else default.arg
    return given


def insert_rows(model: type, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert the rows (the same keys in each) in the current tenant; their ids, in order."""
    if not rows:
        return []
    if not on_postgresql():
        return list(db.session.scalars(
            insert(model).returning(model.id, sort_by_parameter_order=True), list(rows)))
    return prepare_insert(model, rows, new_ids(model.__table__.name, len(rows))).execute()


@dataclass(frozen=True)
class PreparedInsert:
    """An INSERT of rows made ready (``prepare_insert``), to run later, on PostgreSQL."""

    statement: TextClause
    values: dict[str, Any]
    ids: list[int]

    def execute(self) -> list[int]:
        """Insert the rows; their ids, in order."""
        db.session.execute(self.statement, self.values)
        return self.ids


def prepare_insert(model: type, rows: Sequence[dict[str, Any]],
                   ids: Sequence[int]) -> PreparedInsert:
    """The INSERT of the rows (the same keys in each) in the current tenant, with these ids
    (``new_ids``), made without the database: the rows' JSON can be made on one thread
    while another uses the session."""
    table: Table = model.__table__
    rows = [dict(row) for row in rows]
    names = _with_defaults(table, rows)
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    names = ["id", *names]
    columns = ", ".join(f"{name} {_sql_type(table, name)}" for name in names)
    return PreparedInsert(text(
        f"INSERT INTO {table.name} (tenant_id, {', '.join(names)})"
        f" SELECT :tenant_id, {', '.join(names)}"
        f" FROM json_to_recordset(CAST(:rows AS json)) AS r({columns})"),
        {"tenant_id": scoping.require_tenant_id(), "rows": as_json(rows)}, list(ids))
