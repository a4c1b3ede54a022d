"""Tenant isolation: the one place where it is enforced.

Three walls, all here:

1. Reads: every ORM statement that touches a tenant-owned model gets
   ``tenant_id = <current tenant>`` added (``with_loader_criteria``), and a statement that
   touches one while no tenant is set raises ``TenantNotSet`` instead of returning all rows.
2. Writes: every flush stamps new tenant-owned rows with the current tenant and refuses
   to insert, change or delete a row of another tenant.
3. PostgreSQL row-level security: each transaction carries ``app.tenant_id`` (and
   ``app.user_id``) through ``set_config(..., true)``; the policies created by the
   migrations (``enable_tenant_rls``) hide every other tenant's rows even from raw SQL.

Code that must work across tenants says so visibly with ``all_tenants()``; on PostgreSQL
the row-level policies still apply, so such code reads only what the policies allow
(a user's own memberships) or enters each tenant in turn with ``tenant_context()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import ClassVar

from sqlalchemy import ForeignKey, Integer, Table, event, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql import visitors

_current_tenant: ContextVar[int | None] = ContextVar("current_tenant", default=None)
_current_user: ContextVar[int | None] = ContextVar("current_user", default=None)
_across_tenants: ContextVar[bool] = ContextVar("across_tenants", default=False)

# Tables that are not owned by one tenant. Everything else must carry tenant_id and RLS
# (tests/integration/test_isolation_guards.py checks both against the live schema).
GLOBAL_TABLES = frozenset({"alembic_version", "deferred_jobs", "tenants", "users"})


class TenantNotSet(RuntimeError):
    """A tenant-owned table was used while no tenant was set: fail closed."""


class CrossTenantWrite(RuntimeError):
    """A flush tried to write a row that belongs to another tenant."""


class TenantScoped:
    """Mixin for every model owned by one tenant.

    ``tenant_id`` gets no index of its own: the table's composite indexes lead with it
    and serve every lookup by tenant, and each index more is one more to write on every
    insert. A table with no index led by ``tenant_id`` sets ``tenant_id_indexed = True``
    (its ``ix_<table>_tenant_id``).

    ``tenant_fk = False``: ``tenant_id`` is not a foreign key of its own, because the
    table's rows hang from a parent row of the same tenant through a composite foreign
    key (``tenant_id``, parent) with ON DELETE CASCADE (the model declares it): that key
    checks the tenant too (the parent's, which exists), and the tenant's deletion reaches
    the rows through the parent. One check per row written instead of two, for tables
    written by the ten thousand (a bank statement's lines, the journal's).
    """

    tenant_id_indexed: ClassVar[bool] = False
    tenant_fk: ClassVar[bool] = True

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy passes the class
        if not cls.tenant_fk:
            return mapped_column(Integer, nullable=False, index=cls.tenant_id_indexed)
        return mapped_column(
            ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False,
            index=cls.tenant_id_indexed,
        )


def current_tenant_id() -> int | None:
    """Return the id of the tenant the current request or job works in."""
    return _current_tenant.get()


def require_tenant_id() -> int:
    """Return the current tenant id, or raise TenantNotSet."""
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        raise TenantNotSet("no tenant is set for this request or job")
    return tenant_id


def set_current_tenant(tenant_id: int | None) -> None:
    """Enter a tenant for the rest of this request (reset at teardown)."""
    _current_tenant.set(tenant_id)
    _apply_to_open_transaction()


def set_current_user(user_id: int | None) -> None:
    """Record the signed-in user; PostgreSQL lets a user see its own memberships."""
    _current_user.set(user_id)
    _apply_to_open_transaction()


Scope = tuple[int | None, int | None, bool]
EMPTY_SCOPE: Scope = (None, None, False)


def snapshot() -> Scope:
    """The current tenant, user and opt-out, to put back later with restore()."""
    return (_current_tenant.get(), _current_user.get(), _across_tenants.get())


def restore(scope: Scope) -> None:
    """Put back a snapshot (the end of a request restores what was there before it)."""
    _current_tenant.set(scope[0])
    _current_user.set(scope[1])
    _across_tenants.set(scope[2])


@contextmanager
def tenant_context(tenant_id: int) -> Iterator[None]:
    """Work inside one tenant for the duration of the block (jobs, sweeps, sign-up).

    Changes made in the block are flushed before it ends, so they are stamped and checked
    against this tenant rather than whatever tenant is current when the caller commits.
    """
    token = _current_tenant.set(tenant_id)
    _apply_to_open_transaction()
    try:
        yield
        _flush_pending()
    finally:
        _current_tenant.reset(token)
        _apply_to_open_transaction()


@contextmanager
def all_tenants() -> Iterator[None]:
    """Work across tenants, visibly: no ORM tenant filter and no current tenant.

    Row-level security still applies: with no tenant set, PostgreSQL shows only what a
    policy allows without one (a signed-in user's own memberships).
    """
    across = _across_tenants.set(True)
    tenant = _current_tenant.set(None)
    _apply_to_open_transaction()
    try:
        yield
    finally:
        _current_tenant.reset(tenant)
        _across_tenants.reset(across)
        _apply_to_open_transaction()


@cache
def _tenant_table_names() -> frozenset[str]:
    from saas.extensions import db

    return frozenset(
        mapper.local_table.name
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, TenantScoped)
    )


def _touches_tenant_tables(state: ORMExecuteState) -> bool:
    if any(issubclass(mapper.class_, TenantScoped) for mapper in state.all_mappers):
        return True
    # all_mappers misses entities named only in FROM, as in
    # select(func.count()).select_from(Model): look at the tables themselves.
    tenant_tables = _tenant_table_names()
    return any(
        isinstance(element, Table) and element.name in tenant_tables
        for element in visitors.iterate(state.statement)
    )


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    """Add the tenant criterion to every ORM SELECT, UPDATE and DELETE."""
    if state.is_column_load or _across_tenants.get():
        return
    if state.is_insert:
        _check_bulk_insert(state)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if not _touches_tenant_tables(state):
        return
    tenant_id = require_tenant_id()
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


def _check_bulk_insert(state: ORMExecuteState) -> None:
    """Stamp and check rows of ORM bulk inserts, which bypass the flush hook."""
    if not _touches_tenant_tables(state):
        return
    tenant_id = require_tenant_id()
    rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    for row in rows:
        if isinstance(row, dict):
            row.setdefault("tenant_id", tenant_id)
            if row["tenant_id"] != tenant_id:
                raise CrossTenantWrite(
                    f"bulk insert of tenant {row['tenant_id']} rows in tenant {tenant_id}"
                )


@event.listens_for(Session, "before_flush")
def _stamp_and_check_writes(session: Session, flush_context: object, instances: object) -> None:
    """Stamp new rows with the current tenant; refuse writes to another tenant's rows."""
    new = [obj for obj in session.new if isinstance(obj, TenantScoped)]
    changed = [obj for obj in (*session.dirty, *session.deleted) if isinstance(obj, TenantScoped)]
    if not new and not changed:
        return
    tenant_id = require_tenant_id()
    for obj in new:
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
    for obj in (*new, *changed):
        if obj.tenant_id != tenant_id:
            raise CrossTenantWrite(
                f"{type(obj).__name__} of tenant {obj.tenant_id} written in tenant {tenant_id}"
            )


def _settings_sql() -> tuple[object, dict[str, str]]:
    tenant_id = _current_tenant.get()
    user_id = _current_user.get()
    return (
        text(
            "SELECT set_config('app.tenant_id', :tenant, true),"
            " set_config('app.user_id', :user, true)"
        ),
        {
            "tenant": "" if tenant_id is None else str(tenant_id),
            "user": "" if user_id is None else str(user_id),
        },
    )


ASYNC_COMMIT = "saas.async_commit"


@event.listens_for(Session, "after_begin")
def _set_transaction_settings(session: Session, transaction: object, connection) -> None:
    """Carry the current tenant and user into each PostgreSQL transaction for RLS.

    With ``session.info[ASYNC_COMMIT]`` set, the same statement also turns off waiting for
    the disk at commit (see ``delivery.record``), saving a round trip.
    """
    if connection.dialect.name == "postgresql":
        statement, params = _settings_sql()
        if session.info.get(ASYNC_COMMIT):
            statement = text(f"{statement.text}, set_config('synchronous_commit', 'off', true)")
        connection.execute(statement, params)


def _flush_pending() -> None:
    from saas.extensions import db

    try:
        session = db.session()
    except RuntimeError:  # outside an application context
        return
    if session.new or session.dirty or session.deleted:
        session.flush()


def _apply_to_open_transaction() -> None:
    """Re-apply the settings when the context changes inside an open transaction."""
    from saas.extensions import db  # late: scoping is imported while models load

    try:
        session = db.session()
    except RuntimeError:  # outside an application context
        return
    if not session.in_transaction():
        return
    connection = session.connection()  # the open transaction's connection; begins nothing
    if connection.dialect.name == "postgresql":
        statement, params = _settings_sql()
        connection.execute(statement, params)


# --- PostgreSQL row-level security, used by the migrations -------------------------------

TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer"


def enable_tenant_rls(op, table: str, extra_read_predicate: str | None = None) -> None:
    """Enable and force row-level security on a tenant table (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    read_predicate = TENANT_PREDICATE
    if extra_read_predicate:
        read_predicate = f"({TENANT_PREDICATE}) OR ({extra_read_predicate})"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING ({read_predicate}) WITH CHECK ({TENANT_PREDICATE})"
    )
