"""The tenant's billing rules and activities (R5.8), configured on the rules page.

A rule says: on this event (of this activity, or of any), bill this product, in this
quantity (the source's hours rounded by the product, a fixed quantity, or the amount
entered on the source). Callers commit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from saas import clock
from saas.billing.catalog.models import Product
from saas.billing.work.items import EVENTS, BillingError
from saas.billing.work.models import Activity, BillingRule, CostRate, QuantityMode
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.models import Membership


def create_activity(name: str) -> Activity:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise BillingError("Name the activity in 1 to 100 characters.", "name")
    if db.session.scalar(select(Activity.id).where(Activity.name == name)) is not None:
        raise BillingError(f"There is an activity {name} already.", "name")
    activity = Activity(name=name)
    db.session.add(activity)
    db.session.flush()
    return activity


def create_rule(values: dict[str, Any], *, user_id: int | None = None) -> BillingRule:
    """Add a billing rule; the next event of its kind bills by it."""
    name = (values.get("name") or "").strip()
    if not name or len(name) > 100:
        raise BillingError("Name the rule in 1 to 100 characters.", "name")
    event = values.get("event")
    if event not in EVENTS:
        raise BillingError(f"Choose when the rule bills: {', '.join(EVENTS.values())}.", "event")
    product = db.session.get(Product, values.get("product_id") or 0)
    if product is None:
        raise BillingError("Choose a product of this company.", "product_id")
    activity_id = values.get("activity_id") or None
    if activity_id is not None and db.session.get(Activity, activity_id) is None:
        raise BillingError("Choose an activity of this company.", "activity_id")
    try:
        mode = QuantityMode(values.get("quantity_mode") or QuantityMode.HOURS)
    except ValueError:
        raise BillingError("Choose how the quantity is set.", "quantity_mode") from None
    fixed = values.get("fixed_quantity")
    if mode == QuantityMode.FIXED:
        if not isinstance(fixed, Decimal) or fixed <= 0:
            raise BillingError("Enter the fixed quantity to bill, above 0.", "fixed_quantity")
    else:
        fixed = None
    rule = BillingRule(
        name=name,
        event=event,
        activity_id=activity_id,
        product_id=product.id,
        quantity_mode=mode,
        fixed_quantity=fixed,
        is_enabled=True,
    )
    db.session.add(rule)
    db.session.flush()
    audit.record(
        "work.rule_created",
        rule,
        f"Billing rule {name}: {EVENTS[event]} → {product.name}",
        {"mode": mode.value},
        user_id=user_id,
    )
    return rule


def set_rule_enabled(rule: BillingRule, enabled: bool, *, user_id: int | None = None) -> None:
    rule.is_enabled = enabled
    audit.record(
        "work.rule_enabled" if enabled else "work.rule_disabled",
        rule,
        f"Billing rule {rule.name} {'on' if enabled else 'off'}",
        user_id=user_id,
    )


def delete_rule(rule: BillingRule, *, user_id: int | None = None) -> None:
    """Delete a rule; the items it made stay as they are."""
    audit.record("work.rule_deleted", rule, f"Billing rule {rule.name} deleted", user_id=user_id)
    db.session.delete(rule)


def set_cost_rate(
    user_id: int, hourly_cost: Decimal | None, *, changed_by: int | None = None
) -> CostRate | None:
    """Set what an hour of a member's time costs (None: no rate); for profitability."""
    if db.session.scalar(select(Membership.id).where(Membership.user_id == user_id)) is None:
        raise BillingError("Choose a member of this company.", "user_id")
    if hourly_cost is not None and (
        not isinstance(hourly_cost, Decimal) or hourly_cost < 0 or hourly_cost >= Decimal("1e14")
    ):
        raise BillingError("Enter the cost of an hour as an amount of at least 0.", "hourly_cost")
    rate = db.session.scalar(select(CostRate).where(CostRate.user_id == user_id))
    before = str(rate.hourly_cost) if rate is not None else ""
    if hourly_cost is None:
        if rate is not None:
            db.session.delete(rate)
        rate = None
    else:
        if rate is None:
            rate = CostRate(user_id=user_id)
            db.session.add(rate)
        rate.hourly_cost = hourly_cost
        rate.updated_at = clock.now()
    db.session.flush()
    audit.record(
        "work.cost_rate",
        None,
        f"Cost rate of user {user_id}: {before or '—'} →"
        f" {hourly_cost if hourly_cost is not None else '—'}",
        {"user_id": user_id},
        user_id=changed_by,
    )
    return rate


def cost_rates() -> dict[int, Decimal]:
    """Each member's hourly cost by user id (members without a rate are left out)."""
    return dict(db.session.execute(select(CostRate.user_id, CostRate.hourly_cost)).all())
