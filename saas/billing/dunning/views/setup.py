"""Collection settings (when cases open by themselves) and the legal paths with stages."""

from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.billing.customers.models import CustomerCategory
from saas.billing.dunning import legal, queries, services
from saas.billing.dunning.forms import PathForm, SettingsForm, StageForm
from saas.billing.dunning.models import LegalPath, LegalStage
from saas.billing.dunning.views import bp
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import MANAGERS, get_or_404, requires


def _refused(form: object, exc: services.CollectionError, fallback: str) -> None:
    db.session.rollback()
    getattr(form, exc.field if exc.field and hasattr(form, exc.field) else fallback).errors = [
        str(exc)
    ]


@bp.route("/settings", methods=["GET", "POST"])
@requires(MANAGERS)
def settings() -> Response:
    form = SettingsForm(obj=services.settings())
    form.default_collector_id.choices = [(None, "The least busy collector")] + [
        (m.user_id, f"{m.user.name} ({m.role.label})") for m in queries.collectors()
    ]
    if form.validate_on_submit():
        try:
            services.save_settings(form.values(), user_id=current_user.id)
        except services.CollectionError as exc:
            _refused(form, exc, "threshold")
        else:
            db.session.commit()
            flash("Collection settings saved.", "success")
            return redirect_to(url_for("collection.settings"))
    path_form = PathForm(formdata=None)
    path_form.customer_category_id.choices = _category_choices()
    return render(
        "collection/settings.html",
        form=form,
        paths=legal.paths(),
        path_form=path_form,
        status=422 if form.errors else 200,
    )


def _category_choices() -> list[tuple[int | None, str]]:
    return [(None, "Every other category")] + [
        (c.id, c.name)
        for c in db.session.scalars(select(CustomerCategory).order_by(CustomerCategory.name))
    ]


@bp.route("/paths", methods=["POST"])
@requires(MANAGERS)
def new_path() -> Response:
    form = PathForm()
    form.customer_category_id.choices = _category_choices()
    if form.validate_on_submit():
        try:
            path = legal.save_path(None, form.values(), user_id=current_user.id)
        except services.CollectionError as exc:
            _refused(form, exc, "name")
        else:
            db.session.commit()
            flash(f"Legal path {path.name} added: now give it its stages.", "success")
            return redirect_to(url_for("collection.path", legal_path_id=path.id))
    flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect_to(url_for("collection.settings"))


@bp.route("/paths/<int:legal_path_id>", methods=["GET", "POST"])
@requires(MANAGERS)
def path(legal_path_id: int) -> Response:
    """A legal path's stages, in order, and a stage to add at the end."""
    found = get_or_404(LegalPath, legal_path_id)
    form = StageForm()
    if form.validate_on_submit():
        try:
            legal.add_stage(found, form.values(), user_id=current_user.id)
        except services.CollectionError as exc:
            _refused(form, exc, "name")
        else:
            db.session.commit()
            flash("Stage added.", "success")
            return redirect_to(url_for("collection.path", legal_path_id=found.id))
    return render("collection/path.html", path=found, form=form, status=422 if form.errors else 200)


@bp.route("/stages/<int:legal_stage_id>/delete", methods=["POST"])
@requires(MANAGERS)
def delete_stage(legal_stage_id: int) -> Response:
    stage = get_or_404(LegalStage, legal_stage_id)
    path_id = stage.path_id
    try:
        legal.remove_stage(stage, user_id=current_user.id)
    except services.CollectionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("Stage removed.", "success")
    return redirect_to(url_for("collection.path", legal_path_id=path_id))
