"""Small helpers shared by the integration tests."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
from email.message import Message
from pathlib import Path

from flask import Flask
from rq import SimpleWorker
from rq.registry import StartedJobRegistry

from saas.queue import QUEUES, get_queue, redis_connection


def heartbeat_runs_out(app: Flask, queue: str) -> None:
    """Time passes after a worker died whole: its started jobs outlive their heartbeat in
    the started registry, so the next worker's maintenance (run as it starts) takes them
    for abandoned and retries them."""
    registry = StartedJobRegistry(queue, connection=redis_connection(app))
    for entry in redis_connection(app).zrange(registry.key, 0, -1):
        redis_connection(app).zadd(registry.key, {entry: 1})


def run_jobs(app: Flask) -> None:
    """Run every queued job now (with Redis); without Redis they already ran in-process."""
    if redis_connection(app) is None:
        return
    queues = [get_queue(name, app) for name in QUEUES]
    SimpleWorker(queues, connection=redis_connection(app)).work(burst=True)


def sent_mails(outbox: Path) -> list[Message]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    ]


def link_in(message: Message) -> str:
    """The first http(s) link in a mail's text part, as a path."""
    body = message.get_payload(decode=True) if not message.is_multipart() else (
        message.get_payload(0).get_payload(decode=True)
    )
    match = re.search(r"https?://[^/\s]+(/\S+)", body.decode())
    assert match, body
    return match.group(1)


def errors_in(html: str) -> list[str]:
    """Field error messages shown on a page."""
    return re.findall(r'class="error"[^>]*>([^<]+)<', html)


ROOT = Path(__file__).resolve().parents[1]


def run_crashing_worker(app: Flask, database_urls: dict[str, str], crash_at: str, *,
                        whole: bool = False, crash: bool = True, **config: object) -> None:
    """Run tests/support/crashing_worker.py, a burst worker process over the test database.

    With crash, its first horse to reach crash_at dies (SIGKILL); with whole, the worker
    itself with it. ``config`` adds to the app's test settings (an SMTP server, say).
    """
    from tests.conftest import _test_config

    settings = _test_config(database_urls["owner"], database_urls["app"],
                            REDIS_URL=app.config["REDIS_URL"], JOB_RETRY_INTERVALS=[0, 0],
                            OUTBOX_DIR=app.config["OUTBOX_DIR"], **config)
    if crash:
        redis_connection(app).set("crash-once", "1")
    env = {**os.environ, "TEST_APP_CONFIG": json.dumps(settings), "CRASH_AT": crash_at,
           "PYTHONPATH": str(ROOT), "CRASH_WHOLE": "1" if whole else ""}
    finished = subprocess.run([sys.executable, "tests/support/crashing_worker.py"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == (-9 if whole else 0), finished.stderr[-3000:]
    if crash and not whole:
        assert "Work-horse terminated unexpectedly" in finished.stdout  # its horse died
    assert not redis_connection(app).exists("crash-once")  # a horse reached the point


def sessions_waiting_for_a_lock() -> int:
    """How many sessions of the test database wait for a lock (PostgreSQL), each look fresh.

    A transaction sees one snapshot of the activity statistics, so the look is rolled back.
    """
    from sqlalchemy import text

    from saas.extensions import db

    waiting = db.session.scalar(text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND datname = current_database()"))
    db.session.rollback()
    return waiting
