"""Who may see what: tenant resolution from the URL, memberships and roles.

Staff pages live under /t/<tenant_slug>/ on blueprints made by staff_blueprint(); the slug
is resolved here, the signed-in user's membership in that tenant is required (404 when
there is none, so outsiders cannot even learn that a tenant exists), and the role the view
declared with @requires(...) is checked. A staff view that declares no role is refused.

The one way in without a membership: a bureau's staff in a client company the bureau serves
(``bureau_access``), acting with a role derived from their bureau membership; the request
then carries ``g.acting_tenant_id`` (the bureau), which the audit log records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import select

from saas.extensions import db, login_manager
from saas.tenants import scoping
from saas.tenants.bureau_access import ActingMembership, acting_membership
from saas.tenants.models import Membership, Role, Tenant, User

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = frozenset(Role)
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
STAFF_BLUEPRINTS: set[str] = set()
# Request state kept on g; "_login_user" is Flask-Login's cache of the signed-in user.
REQUEST_STATE = ("tenant", "membership", "brandings", "acting_tenant_id", "_login_user")


def requires(*roles: Role | Iterable[Role]) -> Callable[[F], F]:
    """Declare which roles may use a staff view (owners always may)."""
    allowed: set[Role] = {Role.OWNER}
    for role in roles:
        allowed.update([role] if isinstance(role, Role) else role)

    def decorate(view: F) -> F:
        view.required_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return view

    return decorate


def staff_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    """Make a blueprint for staff pages under /t/<tenant_slug>/ with membership checks."""
    bp = Blueprint(name, import_name, url_prefix=f"/t/<tenant_slug>{url_prefix}")
    bp.before_request(_require_membership)
    STAFF_BLUEPRINTS.add(name)
    return bp


M = TypeVar("M")


def get_or_404(model: type[M], object_id: int) -> M:
    """Load one object of the current tenant by id, or answer 404.

    The tenant filter makes other tenants' objects invisible, so they are 404 too.
    """
    obj = db.session.get(model, object_id)
    # get() may answer from the identity map without a query; check the tenant anyway.
    if obj is None or (
        isinstance(obj, scoping.TenantScoped) and obj.tenant_id != scoping.current_tenant_id()
    ):
        abort(404)
    return obj


def current_membership() -> Membership | ActingMembership:
    return g.membership


def acting_bureau() -> Tenant | None:
    """The bureau whose staff member works in the current tenant, if one does (R8)."""
    membership = g.get("membership")
    return membership.bureau if isinstance(membership, ActingMembership) else None


def current_tenant() -> Tenant:
    return g.tenant


def tenant_today() -> date:
    """Today where the current tenant is (the clock tests can freeze)."""
    from saas import clock

    return clock.today_in(current_tenant().timezone)


def tenant_today_of(tenant_id: int) -> date:
    """Today where the given tenant is, outside a request (commands, jobs)."""
    from saas import clock

    return clock.today_in(db.session.get(Tenant, tenant_id).timezone)


def has_role(*roles: Role) -> bool:
    """For templates: may the current member do what these roles may."""
    membership = g.get("membership")
    return membership is not None and (membership.role in roles or membership.role is Role.OWNER)


def tenant_branding() -> Any:
    """The current tenant's branding, loaded once per request (for templates)."""
    from saas.tenants.services import branding_of_current_tenant

    return branding_of_current_tenant()


def _require_membership() -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    membership = db.session.scalar(select(Membership).where(Membership.user_id == current_user.id))
    if membership is None:
        membership = acting_membership(g.tenant, current_user._get_current_object())
        if membership is None:
            abort(404)
        g.acting_tenant_id = membership.bureau.id
    g.membership = membership
    view = current_app.view_functions.get(request.endpoint or "")
    allowed = getattr(view, "required_roles", None)
    if allowed is None:
        current_app.logger.error("staff view %s declares no role; refused", request.endpoint)
        abort(403)
    if membership.role not in allowed:
        abort(403)
    return None


def init_app(app: Flask) -> None:
    """Wire tenant resolution and user loading into the app."""

    @app.url_value_preprocessor
    def resolve_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
        # Runs first in every request. An app context already pushed (a test, a CLI
        # command) is reused by the request, so per-request state starts clean here and
        # the scope is put back as it was at teardown.
        for key in REQUEST_STATE:
            g.pop(key, None)
        g.saved_scope = scoping.snapshot()
        if values and "tenant_slug" in values:
            slug = values.pop("tenant_slug")
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
            if tenant is None:
                abort(404)
            g.tenant = tenant
            scoping.set_current_tenant(tenant.id)

    @app.url_defaults
    def add_tenant_slug(endpoint: str, values: dict[str, Any]) -> None:
        tenant = g.get("tenant")
        if (
            tenant is not None
            and "tenant_slug" not in values
            and app.url_map.is_endpoint_expecting(endpoint, "tenant_slug")
        ):
            values["tenant_slug"] = tenant.slug

    @app.teardown_request
    def forget_tenant(exc: BaseException | None) -> None:
        scoping.restore(g.pop("saved_scope", scoping.EMPTY_SCOPE))

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        return {"has_role": has_role, "tenant_branding": tenant_branding,
                "acting_bureau": acting_bureau}

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is not None and user.is_active:
            scoping.set_current_user(user.id)
            return user
        return None
