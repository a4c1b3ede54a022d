"""Project pages: the list, a new project, one project with its tasks, billing it (R5.1, R5.4)."""

from __future__ import annotations

from datetime import date

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.catalog.forms import customer_choices
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.work import projects as services
from saas.billing.work.forms import ProjectForm, TaskForm
from saas.billing.work.items import BillingError
from saas.billing.work.models import (
    BillableItem,
    ItemStatus,
    Project,
    ProjectStatus,
    Task,
    TimeEntry,
    WorkKind,
)
from saas.billing.work.views import BILLERS, WORKERS, bp
from saas.billing.work.views.common import saved
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import ALL_ROLES, get_or_404, requires, tenant_today


@bp.route("/projects")
@requires(ALL_ROLES)
def projects() -> Response:
    show_closed = request.args.get("closed") == "1"
    statement = (
        select(Project).options(joinedload(Project.customer)).order_by(Project.created_at.desc())
    )
    if not show_closed:
        statement = statement.where(Project.status == ProjectStatus.OPEN)
    listed = db.session.scalars(statement.limit(500)).all()
    minutes = (
        dict(
            db.session.execute(
                select(TimeEntry.project_id, func.sum(TimeEntry.minutes))
                .where(TimeEntry.project_id.in_([p.id for p in listed]))
                .group_by(TimeEntry.project_id)
            ).all()
        )
        if listed
        else {}
    )
    return render("work/projects.html", projects=listed, minutes=minutes, show_closed=show_closed)


@bp.route("/projects/new", methods=["GET", "POST"])
@requires(WORKERS)
def new_project() -> Response:
    form = ProjectForm()
    if request.method == "GET":
        form.customer_id.data = request.args.get("customer", type=int)
        form.customer_id.choices = customer_choices(form.customer_id.data)
    if form.validate_on_submit():
        customer = get_or_404(Customer, form.customer_id.data)
        project = saved(
            form,
            lambda: services.create_project(customer, form.values(), user_id=current_user.id),
            "name",
        )
        if project is not None:
            flash(f"Project {project.name} is set up: add its tasks.", "success")
            return redirect_to(url_for("work.project", project_id=project.id))
    return render("work/new_project.html", form=form, status=422 if form.errors else 200)


def _project_page(project: Project, **extra: object) -> dict[str, object]:
    tasks = project.tasks
    spent = dict(
        db.session.execute(
            select(TimeEntry.task_id, func.sum(TimeEntry.minutes))
            .where(TimeEntry.project_id == project.id)
            .group_by(TimeEntry.task_id)
        ).all()
    )
    by_kind = dict(
        db.session.execute(
            select(TimeEntry.kind, func.sum(TimeEntry.minutes))
            .where(TimeEntry.project_id == project.id)
            .group_by(TimeEntry.kind)
        ).all()
    )
    open_items = services.open_items_of(project)
    invoiced = db.session.scalar(
        select(func.count(BillableItem.id)).where(
            BillableItem.project_id == project.id, BillableItem.status == ItemStatus.INVOICED
        )
    )
    entries = db.session.scalars(
        select(TimeEntry)
        .options(joinedload(TimeEntry.user), joinedload(TimeEntry.task))
        .where(TimeEntry.project_id == project.id)
        .order_by(TimeEntry.work_date.desc(), TimeEntry.id.desc())
        .limit(50)
    ).all()
    context: dict[str, object] = {
        "project": project,
        "tasks": tasks,
        "spent": spent,
        "by_kind": {WorkKind(kind): minutes for kind, minutes in by_kind.items()},
        "open_items": open_items,
        "invoiced_count": invoiced,
        "entries": entries,
        "task_form": TaskForm(formdata=None),
        "today": tenant_today(),
        "order": db.session.get(Document, project.order_id) if project.order_id else None,
    }
    context.update(extra)
    return context


@bp.route("/projects/<int:project_id>")
@requires(ALL_ROLES)
def project(project_id: int) -> Response:
    return render("work/project.html", **_project_page(get_or_404(Project, project_id)))


@bp.route("/projects/<int:project_id>/tasks", methods=["POST"])
@requires(WORKERS)
def add_task(project_id: int) -> Response:
    project = get_or_404(Project, project_id)
    form = TaskForm()
    if form.validate_on_submit() and saved(
        form, lambda: services.add_task(project, form.values()), "title"
    ):
        flash("Task added.", "success")
        return redirect_to(url_for("work.project", project_id=project.id))
    return render("work/project.html", status=422, **_project_page(project, task_form=form))


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@requires(WORKERS)
def edit_task(task_id: int) -> Response:
    task = get_or_404(Task, task_id)
    form = TaskForm(obj=task)
    if form.validate_on_submit() and saved(
        form, lambda: services.update_task(task, form.values()), "title"
    ):
        flash("Task saved.", "success")
        return redirect_to(url_for("work.project", project_id=task.project_id))
    return render("work/edit_task.html", task=task, form=form, status=422 if form.errors else 200)


def _act(action, project_id: int, done: str) -> Response:  # noqa: ANN001 - a service call
    try:
        result = action()
    except BillingError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(url_for("work.project", project_id=project_id))
    message = done
    if isinstance(result, Document):
        message = f"{done} Draft invoice with {len(result.lines)} line(s) made."
        db.session.commit()
        flash(message, "success")
        return redirect_to(url_for("documents.show", document_id=result.id))
    if isinstance(result, list) and result:
        message = f"{done} {len(result)} billable item(s) made."
    db.session.commit()
    flash(message, "success")
    return redirect_to(url_for("work.project", project_id=project_id))


@bp.route("/tasks/<int:task_id>/close", methods=["POST"])
@requires(WORKERS)
def close_task(task_id: int) -> Response:
    task = get_or_404(Task, task_id)
    return _act(
        lambda: services.close_task(task, user_id=current_user.id),
        task.project_id,
        f"{task.title} is done.",
    )


@bp.route("/tasks/<int:task_id>/reopen", methods=["POST"])
@requires(WORKERS)
def reopen_task(task_id: int) -> Response:
    task = get_or_404(Task, task_id)
    return _act(
        lambda: services.reopen_task(task, user_id=current_user.id),
        task.project_id,
        f"{task.title} is open again.",
    )


@bp.route("/projects/<int:project_id>/close", methods=["POST"])
@requires(WORKERS)
def close_project(project_id: int) -> Response:
    project = get_or_404(Project, project_id)
    return _act(
        lambda: services.close_project(project, user_id=current_user.id),
        project.id,
        f"Project {project.name} is closed.",
    )


@bp.route("/projects/<int:project_id>/reopen", methods=["POST"])
@requires(WORKERS)
def reopen_project(project_id: int) -> Response:
    project = get_or_404(Project, project_id)
    return _act(
        lambda: services.reopen_project(project, user_id=current_user.id),
        project.id,
        f"Project {project.name} is open again.",
    )


@bp.route("/projects/<int:project_id>/bill", methods=["POST"])
@requires(BILLERS)
def bill_project(project_id: int) -> Response:
    """Bill the work done so far (R5.4): the open items up to a day."""
    project = get_or_404(Project, project_id)
    try:
        up_to = date.fromisoformat(request.form.get("up_to", ""))
    except ValueError:
        flash("Enter the day up to which the work is billed.", "error")
        return redirect_to(url_for("work.project", project_id=project.id))
    return _act(
        lambda: services.bill_progress(project, up_to, user_id=current_user.id),
        project.id,
        f"Work up to {up_to} billed.",
    )


@bp.route("/orders/<int:document_id>/project", methods=["POST"])
@requires(WORKERS)
def project_from_order(document_id: int) -> Response:
    """An order confirmation becomes a project; its lines become the tasks."""
    order = get_or_404(Document, document_id)
    try:
        made = services.project_from_order(order, user_id=current_user.id)
    except BillingError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(url_for("documents.show", document_id=order.id))
    db.session.commit()
    flash(
        f"Project {made.name} made from {order.title}, with {len(made.tasks)} task(s).", "success"
    )
    return redirect_to(url_for("work.project", project_id=made.id))
