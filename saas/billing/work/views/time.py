"""My time (R5.2, R5.3): the stopwatch with its queue, time entered by hand, corrections.

The stopwatch is one htmx fragment (``#timer``): every button posts and gets the fragment
back, and the fragment refreshes itself each half minute while a task is timed. Without
htmx the same forms post and redirect back to the page.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas import clock
from saas.billing.work import timer as stopwatch
from saas.billing.work import timesheets
from saas.billing.work.forms import TimeEntryForm, TimerForm
from saas.billing.work.items import BillingError, items_of_source
from saas.billing.work.models import Task, TimeEntry, WorkTimer
from saas.billing.work.views import WORKERS, bp
from saas.billing.work.views.common import saved
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.tenants.access import get_or_404, has_role, requires, tenant_today
from saas.tenants.models import Role

RECENT_DAYS = 14


def _timer_context(**extra: object) -> dict[str, object]:
    now = clock.now()
    running = stopwatch.running_timer(current_user.id)
    context: dict[str, object] = {
        "running": running,
        "queue": stopwatch.queue_of(current_user.id),
        "now": now,
        "seconds_of": lambda t: stopwatch.seconds_of(t, now),
        "timer_form": TimerForm(formdata=None),
        "timer_error": None,
    }
    context.update(extra)
    return context


def _page(**extra: object) -> dict[str, object]:
    since = tenant_today() - timedelta(days=RECENT_DAYS)
    entries = db.session.scalars(
        select(TimeEntry)
        .options(joinedload(TimeEntry.task).joinedload(Task.project))
        .where(TimeEntry.user_id == current_user.id, TimeEntry.work_date >= since)
        .order_by(TimeEntry.work_date.desc(), TimeEntry.id.desc())
    ).all()
    context = _timer_context()
    context.update(
        {
            "entries": entries,
            "since": since,
            "entry_form": TimeEntryForm(formdata=None, work_date=tenant_today()),
        }
    )
    context.update(extra)
    return context


@bp.route("/time")
@requires(WORKERS)
def my_time() -> Response:
    return render("work/time.html", **_page())


@bp.route("/timer")
@requires(WORKERS)
def timer_fragment() -> Response:
    """The stopwatch alone: it polls itself here while a task is timed."""
    return render("work/time.html", block="timer", **_page())


@bp.route("/timer/badge")
@requires(WORKERS)
def timer_badge() -> Response:
    """The header's link to My time, naming the task being timed (loaded by every page)."""
    running = stopwatch.running_timer(current_user.id)
    return render(
        "work/_timer_badge.html",
        running=running,
        seconds=stopwatch.seconds_of(running) if running else 0,
    )


def _timer_answer(error: str | None = None, form: TimerForm | None = None) -> Response:
    """The stopwatch after a change: the fragment for htmx, else back to the page."""
    if error is None:
        db.session.commit()
    else:
        db.session.rollback()
    if wants_fragment():
        extra: dict[str, object] = {"timer_error": error}
        if form is not None:
            extra["timer_form"] = form
        return render(
            "work/time.html", block="timer", status=422 if error else 200, **_page(**extra)
        )
    if error:
        flash(error, "error")
    return redirect_to(url_for("work.my_time"))


@bp.route("/timer/start", methods=["POST"])
@requires(WORKERS)
def start_timer() -> Response:
    form = TimerForm()
    if not form.validate_on_submit():
        message = "; ".join(error for errors in form.errors.values() for error in errors)
        return _timer_answer(message or "Choose the task to time.", form)
    task = get_or_404(Task, form.task_id.data)
    try:
        stopwatch.start_timer(
            current_user, task, kind=form.kind.data, description=form.description.data or ""
        )
    except BillingError as exc:
        return _timer_answer(str(exc), form)
    return _timer_answer()


def _own_timer(timer_id: int) -> WorkTimer:
    timer = get_or_404(WorkTimer, timer_id)
    if timer.user_id != current_user.id:
        abort(404)
    return timer


@bp.route("/timer/<int:timer_id>/resume", methods=["POST"])
@requires(WORKERS)
def resume_timer(timer_id: int) -> Response:
    try:
        stopwatch.resume_timer(current_user, _own_timer(timer_id))
    except BillingError as exc:
        return _timer_answer(str(exc))
    return _timer_answer()


@bp.route("/timer/<int:timer_id>/pause", methods=["POST"])
@requires(WORKERS)
def pause_timer(timer_id: int) -> Response:
    stopwatch.pause_timer(current_user, _own_timer(timer_id))
    return _timer_answer()


@bp.route("/timer/<int:timer_id>/stop", methods=["POST"])
@requires(WORKERS)
def stop_timer(timer_id: int) -> Response:
    try:
        entry = stopwatch.stop_timer(current_user, _own_timer(timer_id), tenant_today())
    except BillingError as exc:
        return _timer_answer(str(exc))
    if not wants_fragment():
        flash(f"{entry.task.title}: {entry.minutes} min recorded.", "success")
        db.session.commit()
        return redirect_to(url_for("work.my_time"))
    db.session.commit()
    # The entries below the stopwatch changed as well: reload the whole page.
    return redirect_to(url_for("work.my_time"))


@bp.route("/timer/<int:timer_id>/discard", methods=["POST"])
@requires(WORKERS)
def discard_timer(timer_id: int) -> Response:
    stopwatch.discard_timer(current_user, _own_timer(timer_id))
    return _timer_answer()


@bp.route("/time/entries", methods=["POST"])
@requires(WORKERS)
def add_entry() -> Response:
    form = TimeEntryForm()
    if form.validate_on_submit() and saved(
        form, lambda: timesheets.record_entry(current_user, form.values()), "minutes"
    ):
        flash("Time recorded.", "success")
        return redirect_to(url_for("work.my_time"))
    return render("work/time.html", status=422, **_page(entry_form=form))


def _own_entry(time_entry_id: int) -> TimeEntry:
    """One's own entry; managers and accountants may correct anyone's."""
    entry = get_or_404(TimeEntry, time_entry_id)
    if entry.user_id != current_user.id and not has_role(Role.ADMIN, Role.ACCOUNTANT):
        abort(404)
    return entry


@bp.route("/time/entries/<int:time_entry_id>", methods=["GET", "POST"])
@requires(WORKERS)
def entry(time_entry_id: int) -> Response:
    """Correct an entry afterwards; its revisions say who changed what."""
    entry = _own_entry(time_entry_id)
    tasks = TimeEntryForm(formdata=None).task_id.choices
    if str(entry.task_id) not in {choice.value for choice in tasks}:
        tasks = [*tasks, type(tasks[0])(str(entry.task_id), entry.task.title)]
    form = TimeEntryForm(obj=entry, tasks=tasks)
    if form.validate_on_submit() and saved(
        form,
        lambda: timesheets.correct_entry(entry, form.values(), user_id=current_user.id),
        "minutes",
    ):
        flash("Time entry corrected.", "success")
        return redirect_to(url_for("work.entry", time_entry_id=entry.id))
    return render(
        "work/entry.html",
        entry=entry,
        form=form,
        items=items_of_source(timesheets.SOURCE, [entry.id]),
        status=422 if form.errors else 200,
    )


@bp.route("/time/entries/<int:time_entry_id>/delete", methods=["POST"])
@requires(WORKERS)
def delete_entry(time_entry_id: int) -> Response:
    entry = _own_entry(time_entry_id)
    try:
        timesheets.delete_entry(entry)
    except BillingError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(url_for("work.entry", time_entry_id=entry.id))
    db.session.commit()
    flash("Time entry deleted.", "success")
    return redirect_to(url_for("work.my_time"))


@bp.route("/projects/tasks/<int:task_id>/timer", methods=["POST"])
@requires(WORKERS)
def time_task(task_id: int) -> Response:
    """Start timing a task from its project page."""
    task = get_or_404(Task, task_id)
    try:
        stopwatch.start_timer(current_user, task)
    except BillingError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(url_for("work.project", project_id=task.project_id))
    db.session.commit()
    flash(f"Timing {task.title}.", "success")
    return redirect_to(url_for("work.my_time"))
