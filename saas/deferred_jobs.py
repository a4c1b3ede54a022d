"""Jobs that could not reach Redis wait in the database until it answers again (issue 13).

A request that committed its change must not fail, or lose its e-mail, because Redis is
down for a moment. When sending a job to RQ fails, the job (its function's import path,
its ids, its queue, unique id and retries) is written to ``deferred_jobs`` on a connection
of its own; the change itself is already committed. Every web process looks for waiting
jobs now and then (``CHECK_SECONDS``) and sends them once Redis answers, as do the worker
when it starts and ``flask jobs send-deferred``. While jobs wait, staff pages say that
background work (e-mail, PDFs) is delayed.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import JSON, DateTime, String, Text, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.tenants.models import utcnow

if TYPE_CHECKING:
    from saas.queue import JobRequest

log = logging.getLogger(__name__)
CHECK_SECONDS = 30


class DeferredJob(db.Model):
    """A job that could not be sent to Redis (not a tenant's row: jobs of any tenant)."""

    __tablename__ = "deferred_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    function: Mapped[str] = mapped_column(String(200))  # "package.module:name"
    args: Mapped[list] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(40))
    job_id: Mapped[str | None] = mapped_column(String(200))
    retry_intervals: Mapped[list | None] = mapped_column(JSON)
    unique: Mapped[bool] = mapped_column(default=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def function_path(function: Callable[..., Any]) -> str:
    """Where a job function is imported from: "module:name"."""
    return f"{function.__module__}:{function.__qualname__}"


def import_function(path: str) -> Callable[..., Any]:
    """The job function at "module:name"."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def as_row(request: JobRequest, error: str) -> dict[str, Any]:
    """A job request as a deferred_jobs row (its arguments must be plain JSON: ids, text)."""
    retry = request.retry
    return {"function": function_path(request.func), "args": list(request.args),
            "kwargs": dict(request.kwargs), "queue": request.queue, "job_id": request.job_id,
            "retry_intervals": None if retry is None else list(retry.intervals)[:retry.max]
            or [0] * retry.max,
            "unique": request.unique, "error": error[:2000], "created_at": utcnow()}


def as_request(row: DeferredJob | Any) -> JobRequest:
    """The job request a deferred_jobs row stands for."""
    from saas.queue import JobRequest

    intervals = row.retry_intervals
    retry = None if intervals is None else Retry(max=len(intervals), interval=intervals)
    return JobRequest(import_function(row.function), tuple(row.args), dict(row.kwargs),
                      queue=row.queue, job_id=row.job_id, retry=retry, unique=row.unique)


def defer(app: Flask, requests: Iterable[JobRequest], error: Exception) -> int:
    """Keep jobs Redis refused in the database, committed at once; return how many."""
    rows = [as_row(request, f"{type(error).__name__}: {error}") for request in requests]
    if rows:
        with db.engine.begin() as connection:
            connection.execute(insert(DeferredJob), rows)
        log.warning("Redis unreachable (%s): %d job(s) kept to send later", error, len(rows))
        app.extensions["saas.deferred_checked"] = 0.0  # look again on the next request
    return len(rows)


def waiting() -> int:
    """How many jobs wait for Redis."""
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(DeferredJob)) or 0


def send_deferred(app: Flask) -> int:
    """Send the waiting jobs to Redis, oldest first, if it answers; return how many went."""
    from saas.queue import dispatch, redis_connection

    connection = redis_connection(app)
    if connection is None:
        return 0
    sent = 0
    with db.engine.begin() as database:
        statement = select(DeferredJob.__table__).order_by(DeferredJob.id)
        if database.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        rows = database.execute(statement).all()
        if not rows:
            return 0
        try:
            connection.ping()
        except RedisError:
            return 0
        for row in rows:
            try:
                dispatch(app, as_request(row))
            except RedisError:
                break  # gone again: the rest wait for the next try
            database.execute(delete(DeferredJob).where(DeferredJob.id == row.id))
            sent += 1
    if sent:
        log.info("sent %d deferred job(s) to Redis", sent)
    return sent


def init_app(app: Flask) -> None:
    """Send waiting jobs now and then from the web process, and tell staff while they wait."""
    if not app.config.get("REDIS_URL"):
        return

    def check() -> int:
        # One count per process every CHECK_SECONDS; send what waits when Redis answers.
        now = time.monotonic()
        if now - app.extensions.get("saas.deferred_checked", 0.0) < CHECK_SECONDS:
            return app.extensions.get("saas.deferred_waiting", 0)
        app.extensions["saas.deferred_checked"] = now
        count = waiting()
        if count:
            count -= send_deferred(app)
        app.extensions["saas.deferred_waiting"] = count
        return count

    @app.before_request
    def send_waiting_jobs() -> None:
        try:
            check()
        except Exception:  # never let the outbox take a page down
            log.exception("checking deferred jobs failed")

    @app.context_processor
    def background_delay() -> dict[str, int]:
        return {"jobs_delayed": app.extensions.get("saas.deferred_waiting", 0)}
