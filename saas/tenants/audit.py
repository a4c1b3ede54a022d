"""The audit log: services call record() for every sensitive state change.

While a bureau's staff member works in a client company (R8.1), every entry carries the
bureau (``acting_tenant_id``) beside the staff member, and *every* change they make is in
the client's log: a request of theirs that changed the client's rows without any service
recording an entry gets one at commit, naming what was done (``_audit_unrecorded_acts``).
"""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from saas.extensions import db
from saas.tenants.models import AuditEntry
from saas.tenants.scoping import TenantScoped


def acting_tenant_id() -> int | None:
    """The bureau whose staff member makes the current request in a client, if any."""
    return g.get("acting_tenant_id") if has_request_context() else None


def record(
    action: str,
    obj: object | None = None,
    summary: str = "",
    details: dict | None = None,
    *,
    user_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry in the current tenant (committed with the change it describes)."""
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    entry = AuditEntry(
        user_id=user_id,
        acting_tenant_id=acting_tenant_id(),
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "") or "") if obj is not None else "",
        summary=summary[:500],
        details=details or {},
    )
    db.session.add(entry)
    return entry


# --- acting for a client: nothing goes unrecorded -----------------------------------------

_CHANGED, _RECORDED = "saas.acting_changed", "saas.acting_recorded"


@event.listens_for(Session, "after_flush")
def _note_acting_changes(session: Session, flush_context: object) -> None:
    """Remember which kinds of rows a bureau's staff member's request wrote, and whether a
    service recorded an audit entry for it."""
    if acting_tenant_id() is None:
        return
    if any(isinstance(obj, AuditEntry) for obj in session.new):
        session.info[_RECORDED] = True
    written = {type(obj).__name__ for obj in (*session.new, *session.dirty, *session.deleted)
               if isinstance(obj, TenantScoped) and not isinstance(obj, AuditEntry)}
    if written:
        session.info.setdefault(_CHANGED, set()).update(written)


@event.listens_for(Session, "before_commit")
def _audit_unrecorded_acts(session: Session) -> None:
    """Record what a bureau's staff member changed in a client when no service did."""
    if acting_tenant_id() is not None:
        session.flush()  # what is still pending is noted too
        if session.info.get(_CHANGED) and not session.info.get(_RECORDED):
            changed = sorted(session.info[_CHANGED])
            record(f"bureau.{request.endpoint or 'request'}"[:80], None,
                   f"{request.method} {request.path}",
                   {"changed": changed, "endpoint": request.endpoint or ""})
            session.flush()
    _forget_acting_changes(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_acting_changes(session: Session, previous_transaction: object = None) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(_RECORDED, None)
