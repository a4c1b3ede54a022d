"""RQ worker: `python worker.py [QUEUE ...]` (default: all). Needs REDIS_URL.

Periodic jobs are enqueued by the one scheduler process, `rq cron saas.cron`. Runs with
RQ's scheduler, so retries with intervals and delayed jobs work. Each job enters
its own app context (see saas.queue.job); this process holds one for the worker itself.
"""

from __future__ import annotations

import os
import sys

from flask import Flask
from rq import Worker
from sqlalchemy.orm import configure_mappers

from saas import create_app
from saas.billing.documents.i18n import LOCALES, translations
from saas.billing.documents.pdf import register_fonts
from saas.deferred_jobs import send_deferred
from saas.extensions import db
from saas.queue import QUEUES, get_queue, redis_connection


def warm_up(app: Flask) -> None:
    """Load once, before forking, what every work horse would otherwise load for itself.

    Each job runs in a forked work horse that starts from this process's memory: mappers,
    the PDF fonts, the message catalogues and the e-mail templates are ready in it.
    """
    configure_mappers()  # Redash does the same
    register_fonts()
    for language in LOCALES:
        translations(language)
    with app.app_context():
        for name in app.jinja_env.list_templates(filter_func=_mail_template):
            app.jinja_env.get_template(name)


def forget_connections_at_fork(app: Flask) -> None:
    """Make each work horse open database connections of its own.

    A connection this process pooled (``send_deferred`` uses one) would otherwise be
    inherited by every forked work horse: they would share one server session, and the
    second would meet the first's prepared statements ("prepared statement _pg3_0 already
    exists"). ``dispose(close=False)`` in the child drops the pool without closing the
    parent's connections (SQLAlchemy's recipe for multiprocessing).
    """
    with app.app_context():
        engines = list(db.engines.values())

    def forget() -> None:
        for engine in engines:
            engine.dispose(close=False)

    os.register_at_fork(after_in_child=forget)


def _mail_template(name: str) -> bool:
    return name.startswith("emails/")


def main(queue_names: list[str]) -> None:
    app = create_app()
    if redis_connection(app) is None:
        sys.exit("worker.py needs REDIS_URL; without it jobs run inside the web process.")
    warm_up(app)
    forget_connections_at_fork(app)
    with app.app_context():
        send_deferred(app)  # jobs that waited in the database while Redis was away
        queues = [get_queue(name, app) for name in (queue_names or QUEUES)]
        Worker(queues, connection=redis_connection(app)).work(with_scheduler=True)


if __name__ == "__main__":
    unknown = sorted(set(sys.argv[1:]) - set(QUEUES))
    if unknown:
        sys.exit(f"Unknown queue {', '.join(unknown)}: the queues are {', '.join(QUEUES)}.")
    main(sys.argv[1:])
