"""Background jobs: RQ on Redis when REDIS_URL is set, in-process otherwise.

Jobs are asked for with enqueue() inside a unit of work and sent only when it commits,
so a rolled-back request never leaves a job behind. Job functions are decorated with
@job: they take ids, run in an app context with a session of their own, enter the
tenant they are given, and commit once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from saas.extensions import db
from saas.tenants import scoping

log = logging.getLogger(__name__)

# mail: every e-mail (documents, reminders, invitations); default: short work for users
# (imports); billing: sweeps and runs started by the scheduler; events: handing domain
# events to webhooks and automations (saas.events).
MAIL_QUEUE, DEFAULT_QUEUE, BILLING_QUEUE, EVENTS_QUEUE = "mail", "default", "billing", "events"
QUEUES = (MAIL_QUEUE, EVENTS_QUEUE, DEFAULT_QUEUE, BILLING_QUEUE)
_PENDING = "saas.pending_jobs"
# Per open savepoint, how many jobs were pending when it began (see _forget_after_rollback).
_SAVEPOINT_MARKS = "saas.pending_job_marks"


@dataclass(frozen=True)
class JobRequest:
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    queue: str = "default"
    job_id: str | None = None
    retry: Retry | None = None
    unique: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: Retry | None = None,
    unique: bool = True,
    **kwargs: Any,
) -> None:
    """Ask for func(*args, **kwargs) to run once the current transaction commits.

    A job_id makes the job unique: asking again while one with that id exists does nothing.
    unique=False is for jobs the database already makes unique (a sweep's claimed chunks):
    those are sent to Redis together, in one pipeline.
    """
    request = JobRequest(func, args, kwargs, queue=queue, job_id=job_id, retry=retry,
                         unique=unique)
    db.session().info.setdefault(_PENDING, []).append(request)


def is_pending(func: Callable[..., Any], **kwargs: Any) -> bool:
    """Whether this transaction has asked for func(**kwargs) already (sent at commit)."""
    return any(request.func is func and not request.args and request.kwargs == kwargs
               for request in db.session().info.get(_PENDING, ()))


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINT_MARKS, {})[transaction] = len(
            session.info.get(_PENDING, ()))


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    # SQLAlchemy tells of a released savepoint too: its jobs wait for the real commit, or a
    # worker could run them before the rows they read are committed.
    if session.in_nested_transaction():
        session.info.get(_SAVEPOINT_MARKS, {}).pop(session.get_nested_transaction(), None)
        return
    session.info.pop(_SAVEPOINT_MARKS, None)
    pending = session.info.pop(_PENDING, [])
    if pending:
        send(current_app._get_current_object(), pending)


def send(app: Flask, pending: list[JobRequest]) -> None:
    """Send committed work's jobs; what Redis refuses waits in the database (deferred_jobs)."""
    from saas.deferred_jobs import defer

    batched = [r for r in pending if not r.unique]
    if batched and redis_connection(app) is not None:
        try:
            dispatch_many(app, batched)
        except RedisError as exc:
            defer(app, batched, exc)
        pending = [r for r in pending if r.unique]
    for position, request in enumerate(pending):
        try:
            dispatch(app, request)
        except RedisError as exc:
            defer(app, pending[position:], exc)  # the rest would fail the same way
            return


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:  # a savepoint: forget only what was asked for inside it
        mark = session.info.get(_SAVEPOINT_MARKS, {}).pop(previous_transaction, None)
        if mark is not None and _PENDING in session.info:
            del session.info[_PENDING][mark:]
        return
    session.info.pop(_SAVEPOINT_MARKS, None)
    session.info.pop(_PENDING, None)


def mail_retry(app: Flask | None = None) -> Retry:
    """Retries with backoff for e-mail jobs: JOB_RETRY_INTERVALS seconds apart (10, 60, 300)."""
    return job_retry(app)


def job_retry(app: Flask | None = None) -> Retry:
    """Retries for a job that is safe to run again, JOB_RETRY_INTERVALS seconds apart.

    Without one, a job whose work horse was killed (SIGKILL, out of memory, a worker
    restarted) is failed for good; with one, RQ runs it again: at once from the worker
    that saw its horse die, or from the first worker's registry cleanup to find it
    abandoned when the whole worker died.
    """
    intervals = list((app or current_app).config["JOB_RETRY_INTERVALS"])
    return Retry(max=len(intervals), interval=intervals)


# What RQ still runs or will run: a started job whose worker died stays "started" until a
# worker's registry cleanup finds it abandoned, and is then retried or failed.
_ALIVE = {JobStatus.CREATED, JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED,
          JobStatus.DEFERRED, JobStatus.RATE_LIMITED, JobStatus.READY_TO_ENQUEUE}


def job_is_lost(job_id: str, app: Flask | None = None) -> bool:
    """Whether RQ will not run the job (again): it has none of the id, or the job ended
    (failed with its retries used up, stopped, finished). An ended job is deleted, so the
    job can be asked for again under its id (unique ids refuse a second one)."""
    connection = redis_connection(app)
    if connection is None:
        return True
    try:
        found = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return True
    if found.get_status(refresh=False) in _ALIVE:
        return False
    found.delete()
    return True


def redis_connection(app: Flask | None = None) -> Redis | None:
    """Return the app's Redis connection, or None when jobs run in-process."""
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    connections = app.extensions.setdefault("saas.redis", {})
    if url not in connections:
        if url.startswith("fakeredis://"):
            # The test suite's fallback where no Redis server can be had (tests only).
            import fakeredis

            connections[url] = fakeredis.FakeRedis()
        else:
            # A connect timeout only: workers block on reads for as long as they like.
            connections[url] = Redis.from_url(url, socket_connect_timeout=3)
    return connections[url]


def get_queue(name: str = "default", app: Flask | None = None) -> Queue:
    """Return the named RQ queue on the app's Redis."""
    connection = redis_connection(app)
    if connection is None:
        raise RuntimeError("REDIS_URL is not set: jobs run in-process")
    return Queue(name, connection=connection)


def dispatch(app: Flask, request: JobRequest) -> None:
    """Send one job to RQ, or run it here and now when there is no Redis."""
    connection = redis_connection(app)
    if connection is None:
        _run_in_process(app, request)
        return
    try:
        Queue(request.queue, connection=connection).enqueue_call(
            request.func,
            args=request.args,
            kwargs=request.kwargs,
            job_id=request.job_id,
            retry=request.retry,
            unique=request.job_id is not None,
        )
    except DuplicateJobError:
        log.info("job %s already queued", request.job_id)


def dispatch_many(app: Flask, requests: list[JobRequest]) -> None:
    """Send non-unique jobs to RQ in one pipeline per queue."""
    connection = redis_connection(app)
    by_queue: dict[str, list[JobRequest]] = {}
    for request in requests:
        by_queue.setdefault(request.queue, []).append(request)
    with connection.pipeline() as pipe:
        for name, queued in by_queue.items():
            queue = Queue(name, connection=connection)
            queue.enqueue_many([
                Queue.prepare_data(r.func, args=r.args, kwargs=r.kwargs, job_id=r.job_id,
                                   retry=r.retry) for r in queued], pipeline=pipe)
        pipe.execute()


def _run_in_process(app: Flask, request: JobRequest) -> None:
    # A job runs in an app context of its own, so it gets its own session, as in a worker.
    try:
        with app.app_context():
            request.func(*request.args, **request.kwargs)
    except Exception:  # a failed job must not fail the request that asked for it
        log.exception("in-process job %s failed", getattr(request.func, "__name__", request.func))


_worker_app: Flask | None = None


def _app_for_job() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from saas import create_app

        _worker_app = create_app()
    return _worker_app


def job(func: Callable[..., Any]) -> Callable[..., Any]:
    """Make func a background job: own app context and session, tenant entered, one commit.

    Pass tenant_id=... to run inside that tenant.
    """

    @functools.wraps(func)
    def run(*args: Any, tenant_id: int | None = None, **kwargs: Any) -> Any:
        with _app_for_job().app_context():
            context = scoping.tenant_context(tenant_id) if tenant_id else nullcontext()
            with context:
                try:
                    result = func(*args, **kwargs)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    raise
            return result

    return run
