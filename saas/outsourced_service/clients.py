"""A bureau's client companies (R8): onboarding, access granted with an invite code, the
mode, who of the bureau works for whom, and the end of the service, from either side.

The service is kept in two places on purpose, changed together here: on the client
company (``Tenant.bureau_id`` and ``bureau_mode``: who is let in, read on every request)
and in the bureau's register (``BureauClient``: since when, which customer record, which
fees). Each change is in the audit logs of both. Functions that touch the other side's
tenant enter it visibly (``scoping.tenant_context``); services never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import joinedload

from saas.billing.customers import services as customers
from saas.billing.customers.models import Customer
from saas.extensions import db
from saas.outsourced_service.models import BureauClient, Side
from saas.tenants import audit, scoping
from saas.tenants import services as tenants
from saas.tenants.bureau_access import BUREAU_MANAGERS, acting_role
from saas.tenants.models import (
    BureauAssignment,
    BureauMode,
    Membership,
    Role,
    Tenant,
    TenantKind,
    User,
    utcnow,
)
from saas.tenants.services import ServiceError
from saas.tenants.tokens import InvalidToken, make_token, read_token

INVITE_PURPOSE = "bureau-invite"
# An invite code works this long: time to pass it on and for the company to enter it.
INVITE_MAX_AGE = 14 * 24 * 3600
PROFILE = ("org_number", "vat_id", "address_line1", "postal_code", "city")
FEES = ("fee_documents", "fee_letters", "fee_bank_lines", "fee_monthly")


class BureauError(ServiceError):
    """A change to a bureau's clients was refused; ``field`` names the field concerned."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def acting_in(client: Tenant) -> Iterator[None]:
    """Work in a client company from a page of its bureau: in the client's tenant, with
    its audit entries naming the bureau, as on the client's own pages."""
    db.session.flush()  # what is pending belongs to the tenant it was made in
    in_request = has_request_context()
    saved = g.get("acting_tenant_id") if in_request else None
    if in_request:
        g.acting_tenant_id = client.bureau_id
    try:
        with scoping.tenant_context(client.id):
            yield
    finally:
        if in_request:
            g.acting_tenant_id = saved


# --- who serves whom -----------------------------------------------------------------------


@dataclass(frozen=True)
class ServedClient:
    """A client of the bureau as one of its members sees it."""

    link: BureauClient
    client: Tenant
    role: Role  # what the member acts with there

    @property
    def operated(self) -> bool:
        return self.client.bureau_mode is BureauMode.OPERATED


def clients_of(user_id: int, bureau_role: Role) -> list[ServedClient]:
    """The current bureau's clients the member serves (all, for its owners and admins),
    by name; in the bureau's tenant."""
    statement = (
        select(BureauClient)
        .options(joinedload(BureauClient.client), joinedload(BureauClient.customer))
        .join(Tenant, Tenant.id == BureauClient.client_tenant_id)
        .where(BureauClient.ended_at.is_(None))
        .order_by(Tenant.name, Tenant.id)
    )
    if bureau_role not in BUREAU_MANAGERS:
        statement = statement.join(
            BureauAssignment, BureauAssignment.client_tenant_id == BureauClient.client_tenant_id
        ).where(BureauAssignment.user_id == user_id)
    return [
        ServedClient(link, link.client,
                     acting_role(bureau_role, link.client.bureau_mode, assigned=True))
        for link in db.session.scalars(statement)
    ]


def open_link(client_id: int) -> BureauClient | None:
    """The current bureau's open service of a client (in the bureau's tenant)."""
    return db.session.scalar(select(BureauClient).where(
        BureauClient.client_tenant_id == client_id, BureauClient.ended_at.is_(None)))


# --- starting the service ------------------------------------------------------------------


def onboard_client(bureau: Tenant, values: dict[str, Any], *, mode: BureauMode,
                   user: User) -> Tenant:
    """Create a new company that the bureau serves from its first day (in the bureau).

    ``values``: name, country, currency, locale, timezone and the profile fields; an
    ``email`` gets an invitation to the company as its admin and the bureau's invoices.
    """
    _check_bureau(bureau)
    client = tenants.create_tenant(
        values["name"], TenantKind.BUSINESS, country=values["country"],
        currency=values["currency"], locale=values.get("locale") or bureau.locale,
        timezone=values.get("timezone") or bureau.timezone, bureau=bureau)
    for name in PROFILE:
        setattr(client, name, (values.get(name) or "").strip())
    client.bureau_mode = mode
    email = (values.get("email") or "").strip()
    with acting_in(client):
        audit.record("bureau.onboarded", client,
                     f"{client.name} set up by {bureau.name}, which serves it: {mode.label}",
                     user_id=user.id)
        if email:
            tenants.invite_user(client, email, Role.ADMIN, user)
    register_client(bureau, client, Side.BUREAU, user.id, contact_email=email)
    return client


def invite_code(bureau: Tenant) -> str:
    """A code a company enters to let the bureau serve it (signed, for INVITE_MAX_AGE)."""
    _check_bureau(bureau)
    return make_token(INVITE_PURPOSE, {"bureau": bureau.id})


def bureau_of_code(code: str) -> Tenant:
    try:
        payload = read_token(INVITE_PURPOSE, code.strip(), max_age=INVITE_MAX_AGE)
    except InvalidToken:
        raise BureauError("This invite code is not valid or has expired: ask the bureau for a"
                          " new one.", "code") from None
    bureau = db.session.get(Tenant, payload.get("bureau"))
    if bureau is None or bureau.kind is not TenantKind.BUREAU:
        raise BureauError("This invite code is not valid.", "code")
    return bureau


def grant_access(client: Tenant, code: str, *, mode: BureauMode, user_id: int) -> BureauClient:
    """An existing company lets the bureau whose invite code it entered serve it (in the
    company's tenant)."""
    bureau = bureau_of_code(code)
    if client.kind is TenantKind.BUREAU:
        raise BureauError("A bureau is not served by another bureau.", "code")
    if client.bureau_id is not None:
        raise BureauError(f"{client.bureau.name} serves this company: end that first.", "code")
    client.bureau_id, client.bureau_mode = bureau.id, mode
    db.session.flush()
    audit.record("bureau.access_granted", client,
                 f"{bureau.name} may now serve {client.name}: {mode.label}", user_id=user_id)
    db.session.flush()  # in the company's tenant, before the bureau's is entered
    return register_client(bureau, client, Side.CLIENT, user_id)


def register_client(bureau: Tenant, client: Tenant, side: Side, user_id: int | None,
                    contact_email: str = "") -> BureauClient:
    """Enter a company the bureau serves (``client.bureau_id``) in the bureau's register."""
    with scoping.tenant_context(bureau.id):
        link = BureauClient(client_tenant_id=client.id, started_by_side=side,
                            started_by_id=user_id,
                            customer_id=_customer_for(client, bureau, contact_email).id)
        db.session.add(link)
        db.session.flush()
        how = "set up by the bureau" if side is Side.BUREAU else "access granted by the company"
        audit.record("bureau.client_started", link, f"New client {client.name} ({how})",
                     {"client_tenant_id": client.id, "mode": client.bureau_mode.value},
                     user_id=user_id)
    return link


def _customer_for(client: Tenant, bureau: Tenant, contact_email: str) -> Customer:
    """The bureau's customer record of the client, found by VAT id or org number, else
    registered from the company's details (in the bureau's tenant)."""
    keys = [Customer.vat_id == client.vat_id] if client.vat_id else []
    if client.org_number:
        keys.append(Customer.org_number == client.org_number)
    if keys:
        found = db.session.scalar(select(Customer).where(or_(*keys)).order_by(Customer.id))
        if found is not None:
            return found
    customer = customers.create_customer({
        "name": client.display_name, "org_number": client.org_number, "vat_id": client.vat_id,
        "country": client.country, "address_line1": client.address_line1,
        "postal_code": client.postal_code, "city": client.city,
        "currency": bureau.default_currency, "language": client.locale,
    })
    if contact_email:
        customers.add_contact(customer, {"name": client.display_name, "email": contact_email,
                                         "receives_invoices": True})
    return customer


def _check_bureau(bureau: Tenant) -> None:
    if bureau.kind is not TenantKind.BUREAU:
        raise BureauError(f"{bureau.name} is not an invoicing bureau.")


# --- while it lasts ------------------------------------------------------------------------


def set_mode(client: Tenant, mode: BureauMode, *, side: Side, user_id: int) -> None:
    """Switch between operated by the bureau and self-service with its support."""
    if client.bureau_id is None:
        raise BureauError("No bureau serves this company.")
    if client.bureau_mode is mode:
        return
    client.bureau_mode = mode
    db.session.flush()
    summary = f"{client.name}: {mode.label} (changed by the {side.value})"
    for tenant_id in (client.id, client.bureau_id):
        with scoping.tenant_context(tenant_id):
            audit.record("bureau.mode_changed", client, summary, {"mode": mode.value},
                         user_id=user_id)


def members_to_assign() -> list[Membership]:
    """The current bureau's members who serve only the clients they are assigned to."""
    return list(db.session.scalars(
        select(Membership).options(joinedload(Membership.user))
        .join(User, User.id == Membership.user_id)
        .where(Membership.role.not_in(BUREAU_MANAGERS)).order_by(User.name)))


def assigned_user_ids(client_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per client of the current bureau, who is assigned to it."""
    found: dict[int, set[int]] = {client_id: set() for client_id in client_ids}
    for client_id, user_id in db.session.execute(
        select(BureauAssignment.client_tenant_id, BureauAssignment.user_id)
        .where(BureauAssignment.client_tenant_id.in_(list(found)))
    ):
        found[client_id].add(user_id)
    return found


def set_assignments(link: BureauClient, user_ids: Iterable[int], *, user_id: int) -> None:
    """Choose who of the bureau works for the client (in the bureau's tenant)."""
    wanted = set(user_ids)
    members = {m.user_id: m for m in members_to_assign()}
    if wanted - set(members):
        raise BureauError("Assign members of the bureau who are not its owners or admins"
                          " (they serve every client).", "user_ids")
    current = assigned_user_ids([link.client_tenant_id])[link.client_tenant_id]
    added, removed = wanted - current, current - wanted
    if not added and not removed:
        return
    db.session.execute(delete(BureauAssignment).where(
        BureauAssignment.client_tenant_id == link.client_tenant_id,
        BureauAssignment.user_id.in_(removed)))
    db.session.add_all(BureauAssignment(client_tenant_id=link.client_tenant_id, user_id=uid,
                                        assigned_by_id=user_id) for uid in sorted(added))
    db.session.flush()
    names = sorted(members[uid].user.name for uid in wanted)
    summary = f"Working for {link.client.name}: {', '.join(names) or 'nobody assigned'}"
    details = {"added": sorted(added), "removed": sorted(removed)}
    audit.record("bureau.assignments", link, summary, details, user_id=user_id)
    db.session.flush()  # in the bureau's tenant, before the client's is entered
    with scoping.tenant_context(link.client_tenant_id):
        audit.record("bureau.assignments", None, summary, details, user_id=user_id)


def set_fees(link: BureauClient, values: dict[str, bool], *, user_id: int) -> None:
    """Choose which of the bureau's fees the client pays."""
    changes = {name: bool(values.get(name)) for name in FEES
               if getattr(link, name) != bool(values.get(name))}
    if not changes:
        return
    for name, value in changes.items():
        setattr(link, name, value)
    audit.record("bureau.fees", link, f"Fees of {link.client.name} changed", changes,
                 user_id=user_id)


# --- the end -------------------------------------------------------------------------------


def end_service(client: Tenant, *, side: Side, user_id: int) -> None:
    """The bureau stops serving the company; either side may end it. Its people lose
    access at once; the bureau keeps the register entry, ended, and the customer."""
    bureau = client.bureau
    if bureau is None:
        raise BureauError("No bureau serves this company.")
    summary = f"{bureau.name} no longer serves {client.name} (ended by the {side.value})"
    with scoping.tenant_context(bureau.id):
        link = open_link(client.id)
        if link is not None:
            link.ended_at, link.ended_by_side, link.ended_by_id = utcnow(), side, user_id
        db.session.execute(delete(BureauAssignment).where(
            BureauAssignment.client_tenant_id == client.id))
        audit.record("bureau.client_ended", link, summary, user_id=user_id)
    with scoping.tenant_context(client.id):
        audit.record("bureau.service_ended", client, summary, user_id=user_id)
    client.bureau_id = None
    db.session.flush()
