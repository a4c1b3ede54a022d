"""An RQ worker whose work horse dies once, on purpose, where a test says (SIGKILL).

``python tests/support/crashing_worker.py`` with TEST_APP_CONFIG (the app's config as JSON)
and CRASH_AT: ``before-send`` kills the horse after a delivery is claimed and before its
message is handed to SMTP; ``after-send`` kills it after the server accepted the message
and before the outcome is recorded. The crash fires once: the first horse to reach the
point takes the Redis key ``crash-once`` and dies. The parent worker (a forking ``Worker``,
as in production) sees its horse killed and lets RQ retry the job; it works in burst mode,
so it stops when the queues are empty.
"""

from __future__ import annotations

import json
import os
import signal

from rq import Worker

from saas import create_app, mail
from saas.queue import QUEUES, get_queue, redis_connection

CRASH_AT = os.environ["CRASH_AT"]
_send = mail.Postman.send


def _crash_once(app) -> None:  # noqa: ANN001
    if redis_connection(app).getdel("crash-once"):
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    app = create_app(json.loads(os.environ["TEST_APP_CONFIG"]))

    def send(self: mail.Postman, message: mail.Mail) -> str:
        if CRASH_AT == "before-send":
            _crash_once(app)
        message_id = _send(self, message)
        if CRASH_AT == "after-send":
            _crash_once(app)
        return message_id

    mail.Postman.send = send
    with app.app_context():
        queues = [get_queue(name, app) for name in QUEUES]
        Worker(queues, connection=redis_connection(app)).work(burst=True)


if __name__ == "__main__":
    main()
