"""RQ worker: `python worker.py [QUEUE ...]` (default: mail, default, billing). Needs REDIS_URL.

Periodic jobs are enqueued by the one scheduler process, `rq cron saas.cron`. Runs with
RQ's scheduler, so retries with intervals and delayed jobs work. Each job enters
its own app context (see saas.queue.job); this process holds one for the worker itself.
"""

from __future__ import annotations

import sys

from rq import Worker
from sqlalchemy.orm import configure_mappers

from saas import create_app
from saas.queue import QUEUES, get_queue, redis_connection


def main(queue_names: list[str]) -> None:
    app = create_app()
    if redis_connection(app) is None:
        sys.exit("worker.py needs REDIS_URL; without it jobs run inside the web process.")
    # Configure mappers once here, not in every forked job (Redash does the same).
    configure_mappers()
    with app.app_context():
        queues = [get_queue(name, app) for name in (queue_names or QUEUES)]
        Worker(queues, connection=redis_connection(app)).work(with_scheduler=True)


if __name__ == "__main__":
    unknown = sorted(set(sys.argv[1:]) - set(QUEUES))
    if unknown:
        sys.exit(f"Unknown queue {', '.join(unknown)}: the queues are {', '.join(QUEUES)}.")
    main(sys.argv[1:])
