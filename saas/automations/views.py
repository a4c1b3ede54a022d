"""Automation pages: rules and their actions, the run log, document templates, and the
customer's generated documents."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.automations import rules, runs, templates, templating
from saas.automations.conditions import describe
from saas.automations.forms import ActionForm, GenerateForm, RuleForm, TemplateForm
from saas.automations.models import (
    AutomationAction,
    AutomationRule,
    AutomationRun,
    DocumentTemplate,
    GeneratedDocument,
)
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Delivery, Document
from saas.events import EVENT_NAMES
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import ALL_ROLES, MANAGERS, get_or_404, requires, staff_blueprint
from saas.tenants.models import Role
from saas.tenants.services import ServiceError

bp = staff_blueprint("automations", __name__, "/automations")

# Who may generate a document for a customer by hand: those who edit customers.
GENERATORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
RECENT_RUNS = 50


@bp.app_template_global("generated_documents_of")
def generated_documents_of(customer_id: int) -> list[GeneratedDocument]:
    """For the customer page's Documents panel."""
    return templates.generated_of(customer_id)


@bp.app_template_global("generate_form")
def generate_form() -> GenerateForm:
    return GenerateForm(formdata=None)


def _refused(form: Any, exc: ServiceError, fallback: str) -> None:
    db.session.rollback()
    name = getattr(exc, "field", None)
    target = getattr(form, name) if name and hasattr(form, name) else getattr(form, fallback)
    target.errors = [*target.errors, str(exc)] if isinstance(target.errors, list) else [str(exc)]


# --- rules ---------------------------------------------------------------------------------


def _last_runs() -> dict[int, AutomationRun]:
    last: dict[int, AutomationRun] = {}
    for run in db.session.scalars(select(AutomationRun).order_by(AutomationRun.id.desc())
                                  .limit(RECENT_RUNS)):
        last.setdefault(run.rule_id, run)
    return last


@bp.route("/")
@requires(MANAGERS)
def index() -> Response:
    rule_list = db.session.scalars(select(AutomationRule).order_by(
        AutomationRule.position, AutomationRule.id)).all()
    return render("automations/index.html", rules=rule_list, last_runs=_last_runs(),
                  describe=describe, events=EVENT_NAMES)


@bp.route("/rules/new", methods=["GET", "POST"])
@requires(MANAGERS)
def new_rule() -> Response:
    form = RuleForm()
    if form.validate_on_submit():
        try:
            rule = rules.create_rule(form.values())
        except rules.RuleError as exc:
            _refused(form, exc, "name")
        else:
            db.session.commit()
            flash(f"Rule {rule.name} saved: now add its actions.", "success")
            return redirect_to(url_for("automations.rule", automation_rule_id=rule.id))
    return render("automations/rule.html", form=form, rule=None, action_form=None,
                  status=422 if form.errors else 200)


def _rule_page(rule: AutomationRule, form: RuleForm, action_form: ActionForm,
               status: int = 200) -> Response:
    template_names = {t.id: t.name for t in db.session.scalars(select(DocumentTemplate))}
    return render("automations/rule.html", form=form, rule=rule, action_form=action_form,
                  template_names=template_names, status=status)


@bp.route("/rules/<int:automation_rule_id>", methods=["GET", "POST"])
@requires(MANAGERS)
def rule(automation_rule_id: int) -> Response:
    found = get_or_404(AutomationRule, automation_rule_id)
    form = RuleForm(obj=found) if request.method == "POST" else RuleForm(
        obj=found, **found.conditions)
    if form.validate_on_submit():
        try:
            rules.update_rule(found, form.values())
        except rules.RuleError as exc:
            _refused(form, exc, "name")
        else:
            db.session.commit()
            flash(f"Rule {found.name} saved.", "success")
            return redirect_to(url_for("automations.rule", automation_rule_id=found.id))
    return _rule_page(found, form, ActionForm(formdata=None),
                      status=422 if form.errors else 200)


@bp.route("/rules/<int:automation_rule_id>/toggle", methods=["POST"])
@requires(MANAGERS)
def toggle(automation_rule_id: int) -> Response:
    found = get_or_404(AutomationRule, automation_rule_id)
    rules.set_active(found, not found.active)
    db.session.commit()
    flash(f"Rule {found.name} is {'on' if found.active else 'off'}.", "success")
    return redirect_to(url_for("automations.index"))


@bp.route("/rules/<int:automation_rule_id>/delete", methods=["POST"])
@requires(MANAGERS)
def delete_rule(automation_rule_id: int) -> Response:
    found = get_or_404(AutomationRule, automation_rule_id)
    rules.delete_rule(found)
    db.session.commit()
    flash(f"Rule {found.name} deleted; what its runs made stays.", "success")
    return redirect_to(url_for("automations.index"))


@bp.route("/rules/<int:automation_rule_id>/actions", methods=["POST"])
@requires(MANAGERS)
def add_action(automation_rule_id: int) -> Response:
    found = get_or_404(AutomationRule, automation_rule_id)
    action_form = ActionForm()
    if action_form.validate_on_submit():
        try:
            rules.add_action(found, action_form.kind.data, action_form.values())
        except rules.RuleError as exc:
            _refused(action_form, exc, "kind")
        else:
            db.session.commit()
            flash("Action added.", "success")
            return redirect_to(url_for("automations.rule", automation_rule_id=found.id))
    found = get_or_404(AutomationRule, automation_rule_id)
    return _rule_page(found, RuleForm(obj=found, formdata=None, **found.conditions),
                      action_form, status=422)


@bp.route("/actions/<int:automation_action_id>/delete", methods=["POST"])
@requires(MANAGERS)
def remove_action(automation_action_id: int) -> Response:
    action = get_or_404(AutomationAction, automation_action_id)
    rule_id = action.rule_id
    rules.remove_action(action)
    db.session.commit()
    flash("Action removed.", "success")
    return redirect_to(url_for("automations.rule", automation_rule_id=rule_id))


@bp.route("/actions/<int:automation_action_id>/move", methods=["POST"])
@requires(MANAGERS)
def move_action(automation_action_id: int) -> Response:
    action = get_or_404(AutomationAction, automation_action_id)
    rules.move_action(action, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return redirect_to(url_for("automations.rule", automation_rule_id=action.rule_id))


# --- the run log ---------------------------------------------------------------------------


@bp.route("/runs")
@requires(MANAGERS)
def run_log() -> Response:
    recent = db.session.scalars(select(AutomationRun).order_by(AutomationRun.id.desc())
                                .limit(RECENT_RUNS)).all()
    return render("automations/runs.html", runs=recent)


def _step_links(run: AutomationRun) -> dict[str, dict[int, Any]]:
    """What the run's steps made, by id, for links."""
    def ids(key: str) -> list[int]:
        return [i for step in run.steps for i in step.get(key, [])]

    def load(model: type, key: str) -> dict[int, Any]:
        wanted = ids(key)
        if not wanted:
            return {}
        return {row.id: row for row in db.session.scalars(
            select(model).where(model.id.in_(wanted)))}

    return {"documents": load(Document, "documents"),
            "generated": load(GeneratedDocument, "generated"),
            "deliveries": load(Delivery, "deliveries")}


@bp.route("/runs/<int:automation_run_id>")
@requires(MANAGERS)
def run(automation_run_id: int) -> Response:
    found = get_or_404(AutomationRun, automation_run_id)
    return render("automations/run.html", run=found, made=_step_links(found),
                  actions=found.rule.actions)


@bp.route("/runs/<int:automation_run_id>/retry", methods=["POST"])
@requires(MANAGERS)
def retry_run(automation_run_id: int) -> Response:
    found = get_or_404(AutomationRun, automation_run_id)
    try:
        runs.retry(found)
    except ServiceError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("The run goes on from the first action not done.", "success")
    return redirect_to(url_for("automations.run", automation_run_id=found.id))


# --- document templates --------------------------------------------------------------------


@bp.route("/templates")
@requires(MANAGERS)
def template_list() -> Response:
    found = db.session.scalars(select(DocumentTemplate).order_by(DocumentTemplate.name)).all()
    return render("automations/templates.html", templates=found)


def _template_page(form: TemplateForm, template: DocumentTemplate | None,
                   status: int = 200) -> Response:
    return render("automations/template.html", form=form, document_template=template,
                  fields=templating.FIELDS, top_level=templating.TOP_LEVEL, status=status)


@bp.route("/templates/new", methods=["GET", "POST"])
@requires(MANAGERS)
def new_template() -> Response:
    form = TemplateForm()
    if form.validate_on_submit():
        try:
            template = templates.create_template(form.values())
        except templates.TemplateError as exc:
            _refused(form, exc, "body")
        else:
            db.session.commit()
            flash(f"Template {template.name} saved.", "success")
            return redirect_to(url_for("automations.template",
                                       document_template_id=template.id))
    return _template_page(form, None, status=422 if form.errors else 200)


@bp.route("/templates/<int:document_template_id>", methods=["GET", "POST"])
@requires(MANAGERS)
def template(document_template_id: int) -> Response:
    found = get_or_404(DocumentTemplate, document_template_id)
    form = TemplateForm(obj=found)
    if form.validate_on_submit():
        try:
            templates.update_template(found, form.values())
        except templates.TemplateError as exc:
            _refused(form, exc, "body")
        else:
            db.session.commit()
            flash(f"Template {found.name} saved.", "success")
            return redirect_to(url_for("automations.template",
                                       document_template_id=found.id))
    return _template_page(form, found, status=422 if form.errors else 200)


def _pdf(data: bytes, filename: str, *, download: bool = False) -> Response:
    disposition = "attachment" if download else "inline"
    return FlaskResponse(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{filename}"'})


@bp.route("/templates/<int:document_template_id>/preview.pdf")
@requires(MANAGERS)
def preview(document_template_id: int) -> Response:
    """The saved template filled in with the sample values (the field reference's)."""
    found = get_or_404(DocumentTemplate, document_template_id)
    try:
        data = templates.preview(found, {})
    except templating.TemplateProblem as exc:
        flash(str(exc), "error")
        return redirect_to(url_for("automations.template", document_template_id=found.id))
    return _pdf(data, "preview.pdf")


# --- the customer's generated documents ----------------------------------------------------


@bp.route("/customers/<int:customer_id>/documents/<int:generated_document_id>.pdf")
@requires(ALL_ROLES)
def download(customer_id: int, generated_document_id: int) -> Response:
    found = get_or_404(GeneratedDocument, generated_document_id)
    if found.customer_id != customer_id:
        abort(404)
    return _pdf(found.pdf, found.filename, download=True)


@bp.route("/customers/<int:customer_id>/documents", methods=["POST"])
@requires(GENERATORS)
def generate(customer_id: int) -> Response:
    """Generate a document from a template for the customer by hand."""
    customer = get_or_404(Customer, customer_id)
    form = GenerateForm()
    back = url_for("customers.show", customer_id=customer.id) + "#generated-documents"
    if not form.validate_on_submit():
        flash("Choose a template.", "error")
        return redirect_to(back)
    template = get_or_404(DocumentTemplate, int(form.template_id.data))
    try:
        generated = templates.generate_document(template, customer, user_id=current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(back)
    db.session.commit()
    flash(f"{generated.title} generated and stored with {customer.name}.", "success")
    return redirect_to(back)
