"""The billing rules page (R5.8): when events bill which product and quantity; activities."""

from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.work import setup
from saas.billing.work.forms import ActivityForm, RuleForm
from saas.billing.work.items import EVENTS
from saas.billing.work.models import Activity, BillingRule
from saas.billing.work.views import RULE_KEEPERS, bp
from saas.billing.work.views.common import saved
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import ALL_ROLES, get_or_404, requires


def _page(**extra: object) -> dict[str, object]:
    context: dict[str, object] = {
        "rules": db.session.scalars(
            select(BillingRule)
            .options(joinedload(BillingRule.product), joinedload(BillingRule.activity))
            .order_by(BillingRule.event, BillingRule.id)
        ).all(),
        "activities": db.session.scalars(select(Activity).order_by(Activity.name)).all(),
        "rule_form": RuleForm(formdata=None),
        "activity_form": ActivityForm(formdata=None),
        "events": EVENTS,
    }
    context.update(extra)
    return context


@bp.route("/rules")
@requires(ALL_ROLES)
def rules() -> Response:
    return render("work/rules.html", **_page())


@bp.route("/rules", methods=["POST"])
@requires(RULE_KEEPERS)
def add_rule() -> Response:
    form = RuleForm()
    if form.validate_on_submit() and saved(
        form, lambda: setup.create_rule(form.values(), user_id=current_user.id), "name"
    ):
        flash("Rule added: it bills the next events of its kind.", "success")
        return redirect_to(url_for("work.rules"))
    return render("work/rules.html", status=422, **_page(rule_form=form))


@bp.route("/rules/<int:rule_id>/toggle", methods=["POST"])
@requires(RULE_KEEPERS)
def toggle_rule(rule_id: int) -> Response:
    rule = get_or_404(BillingRule, rule_id)
    setup.set_rule_enabled(rule, not rule.is_enabled, user_id=current_user.id)
    db.session.commit()
    flash(f"Rule {rule.name} is {'on' if rule.is_enabled else 'off'}.", "success")
    return redirect_to(url_for("work.rules"))


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@requires(RULE_KEEPERS)
def delete_rule(rule_id: int) -> Response:
    rule = get_or_404(BillingRule, rule_id)
    setup.delete_rule(rule, user_id=current_user.id)
    db.session.commit()
    flash("Rule deleted; the items it made stay.", "success")
    return redirect_to(url_for("work.rules"))


@bp.route("/activities", methods=["POST"])
@requires(RULE_KEEPERS)
def add_activity() -> Response:
    form = ActivityForm()
    if form.validate_on_submit() and saved(
        form, lambda: setup.create_activity(form.name.data), "name"
    ):
        flash("Activity added.", "success")
        return redirect_to(url_for("work.rules"))
    return render("work/rules.html", status=422, **_page(activity_form=form))
