"""Small helpers shared by the integration tests."""

from __future__ import annotations

import email
import email.policy
import re
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
