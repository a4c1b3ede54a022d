"""The audit log: services call record() for every sensitive state change."""

from __future__ import annotations

from flask import g, has_request_context
from flask_login import current_user

from saas.extensions import db
from saas.tenants.models import AuditEntry


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
        acting_tenant_id=g.get("acting_tenant_id") if has_request_context() else None,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "") or "") if obj is not None else "",
        summary=summary[:500],
        details=details or {},
    )
    db.session.add(entry)
    return entry
