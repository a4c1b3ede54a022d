"""Demo of the bureau (R8) for `make run`: Biuro Faktur Kasia serves its three clients.

Once: the clients in the bureau's register (customers of the bureau, served since the
month before last), the last one self-service; the bureau's people assigned to clients
(staff, accountant, collector, viewer: each sees the work queue of their clients); billing
rules for the fees; last month's activity recorded and invoiced (draft invoices), this
month's recorded so far (open items in the inbox).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import delete, select

from saas import clock
from saas.billing.catalog.models import Product
from saas.billing.work import setup
from saas.extensions import db
from saas.outsourced_service import clients, fees
from saas.outsourced_service.models import BureauClient, Side
from saas.tenants import scoping
from saas.tenants.models import BureauMode, Membership, Role, Tenant, User

# Who of the bureau serves which client (by slug); owners and admins serve every client.
ASSIGNED = {
    "staff@biuro.example": ("sokol", "vltava"),
    "accountant@biuro.example": ("sokol", "vltava", "klos"),
    "collector@biuro.example": ("sokol",),
    "viewer@biuro.example": ("vltava",),
}
SELF_SERVICE = ("klos",)
# Fee event → (product SKU, quantity mode): the count of the month, or one a month.
FEE_RULES = {
    "bureau_documents": ("FAKT", "entered"),
    "bureau_letters": ("LIST", "entered"),
    "bureau_bank_lines": ("BANK", "entered"),
    "bureau_month": ("ABON", "fixed"),
}


def seed_bureau(bureau: Tenant, served: list[Tenant]) -> None:
    """The bureau's register, assignments, fee rules and recorded months (once)."""
    with scoping.tenant_context(bureau.id):
        if db.session.scalar(select(BureauClient.id).limit(1)) is not None:
            return
        owner = db.session.scalar(select(Membership).where(Membership.role == Role.OWNER))
        people = {user.email: user for user in db.session.scalars(
            select(User).join(Membership, Membership.user_id == User.id))}
    _retire_old_memberships(served, set(people))
    this_month = fees.month_of(clock.today_in(bureau.timezone))[0]
    last_month = fees.previous_month(this_month)
    since = datetime.combine(fees.previous_month(last_month), datetime.min.time(), UTC)
    for client in served:
        client.bureau_mode = (BureauMode.SELF_SERVICE if client.slug in SELF_SERVICE
                              else BureauMode.OPERATED)
        link = clients.register_client(bureau, client, Side.BUREAU, owner.user_id)
        with scoping.tenant_context(bureau.id):
            link.started_at = since  # the bureau has served them for a while
            if client.slug in SELF_SERVICE:
                link.fee_documents = link.fee_letters = link.fee_bank_lines = False
            chosen = [people[email].id for email, slugs in ASSIGNED.items()
                      if client.slug in slugs and email in people]
            clients.set_assignments(link, chosen, user_id=owner.user_id)
    with scoping.tenant_context(bureau.id):
        skus = {product.sku: product.id for product in db.session.scalars(select(Product))}
        for event, (sku, mode) in FEE_RULES.items():
            if sku in skus:
                setup.create_rule({"name": f"Fee: {sku}", "event": event,
                                   "product_id": skus[sku], "quantity_mode": mode,
                                   "fixed_quantity": Decimal(1) if mode == "fixed" else None})
        fees.record_month(last_month)
        fees.invoice_month(last_month, user_id=owner.user_id)
        fees.record_month(this_month)
    db.session.flush()


def _retire_old_memberships(served: list[Tenant], bureau_people: set[str]) -> None:
    """Earlier demos made the bureau's people members of each client; they now work there
    through the bureau, as every bureau's people do."""
    for client in served:
        with scoping.tenant_context(client.id):
            db.session.execute(delete(Membership).where(Membership.user_id.in_(
                select(User.id).where(User.email.in_(bureau_people)))))
