"""Bureau staff in a client company (R8): who is let in without a membership, as what.

A company served by a bureau (``Tenant.bureau_id``) is open to the bureau's people without
a login or membership of their own in it: the bureau's owners and admins serve every
client, its other members the clients a bureau admin assigned them to
(``BureauAssignment``). They act with a role derived from their role in the bureau
(``acting_role``) and the client's mode, and while they do, ``g.acting_tenant_id`` names
the bureau, so every audit entry in the client says whose staff acted (``audit``).

Anyone else — another bureau's staff, a bureau member not assigned to the client — gets
the 404 every outsider gets (``access``). Tenant isolation itself stays where it is
enforced (``scoping``): the request runs in the client's tenant only; this module only
decides who is let in, reading the bureau's own rows inside the bureau's tenant.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import (
    BureauAssignment,
    BureauMode,
    Membership,
    Role,
    Tenant,
    TenantKind,
    User,
)

BUREAU_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


@dataclass(frozen=True)
class ActingMembership:
    """What stands in for a membership while a bureau member works in a client company."""

    user: User
    role: Role  # the role acted with in the client
    bureau: Tenant
    bureau_role: Role  # the member's role in the bureau

    @property
    def user_id(self) -> int:
        return self.user.id


def acting_role(bureau_role: Role, mode: BureauMode, assigned: bool) -> Role | None:
    """The role a bureau member acts with in a client, or None when not let in.

    Owners and admins of the bureau serve every client, as admins (never as owners: the
    company's ownership stays its own); other members only the clients they are assigned
    to, with their bureau role. A self-service client does its own invoicing, and the
    bureau supports it by looking on: everyone from the bureau is a viewer there.
    """
    manager = bureau_role in BUREAU_MANAGERS
    if not (manager or assigned):
        return None
    if mode is BureauMode.SELF_SERVICE:
        return Role.VIEWER
    return Role.ADMIN if manager else bureau_role


def acting_membership(client: Tenant, user: User) -> ActingMembership | None:
    """The membership a bureau member acts with in client, or None (not let in)."""
    if client.bureau_id is None:
        return None
    with scoping.tenant_context(client.bureau_id):
        bureau_role = db.session.scalar(
            select(Membership.role).where(Membership.user_id == user.id))
        if bureau_role is None:
            return None
        assigned = bureau_role in BUREAU_MANAGERS or db.session.scalar(
            select(BureauAssignment.id).where(BureauAssignment.client_tenant_id == client.id,
                                              BureauAssignment.user_id == user.id)
        ) is not None
    role = acting_role(bureau_role, client.bureau_mode, assigned)
    if role is None:
        return None
    return ActingMembership(user=user, role=role, bureau=client.bureau, bureau_role=bureau_role)


@dataclass(frozen=True)
class ServedClient:
    client: Tenant
    bureau: Tenant
    role: Role  # acted with


def served_clients(user: User, memberships: list[Membership]) -> list[ServedClient]:
    """The companies user works in through the bureaus they are a member of, by name
    (companies where they are a member themselves are left out: they are listed anyway)."""
    own = {membership.tenant_id for membership in memberships}
    served = []
    for membership in memberships:
        bureau = membership.tenant
        if bureau.kind is not TenantKind.BUREAU:
            continue
        statement = select(Tenant).where(Tenant.bureau_id == bureau.id)
        if membership.role not in BUREAU_MANAGERS:
            statement = statement.join(
                BureauAssignment, BureauAssignment.client_tenant_id == Tenant.id
            ).where(BureauAssignment.user_id == user.id)
        with scoping.tenant_context(bureau.id):
            clients = db.session.scalars(statement).all()
        served += [
            ServedClient(client, bureau, acting_role(membership.role, client.bureau_mode, True))
            for client in clients if client.id not in own
        ]
    return sorted(served, key=lambda entry: entry.client.name.lower())
