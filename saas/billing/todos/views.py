"""The to-do list: what needs a person, newest first; done with one click."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas import clock
from saas.billing.todos.models import Todo
from saas.extensions import db
from saas.htmx import local_path, redirect_to, render
from saas.tenants import audit
from saas.tenants.access import ALL_ROLES, get_or_404, requires, staff_blueprint

bp = staff_blueprint("todos", __name__, "/todos")


def open_todos(limit: int | None = None) -> list[Todo]:
    statement = (select(Todo).options(joinedload(Todo.customer), joinedload(Todo.document))
                 .where(Todo.done_at.is_(None)).order_by(Todo.created_at.desc(), Todo.id.desc()))
    if limit:
        statement = statement.limit(limit)
    return list(db.session.scalars(statement))


@bp.route("/")
@requires(ALL_ROLES)
def index() -> Response:
    show_done = request.args.get("done") == "1"
    statement = (select(Todo).options(joinedload(Todo.customer), joinedload(Todo.document))
                 .where(Todo.done_at.is_not(None)).order_by(Todo.done_at.desc()).limit(100))
    done = db.session.scalars(statement).all() if show_done else []
    return render("todos/index.html", todos=open_todos(), done=done, show_done=show_done)


@bp.route("/<int:todo_id>/done", methods=["POST"])
@requires(ALL_ROLES)
def mark_done(todo_id: int) -> Response:
    todo = get_or_404(Todo, todo_id)
    if todo.done_at is None:
        todo.done_at, todo.done_by_id = clock.now(), current_user.id
        audit.record("todos.done", todo, f"Done: {todo.title}", user_id=current_user.id)
        db.session.commit()
        flash("Marked done.", "success")
    return redirect_to(local_path(request.form.get("next"), url_for("todos.index")))
