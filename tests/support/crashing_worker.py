"""An RQ worker whose work horse dies once, on purpose, where a test says (SIGKILL).

``python tests/support/crashing_worker.py`` with TEST_APP_CONFIG (the app's config as JSON)
and CRASH_AT, one of:

- ``before-send``: after an e-mail delivery is claimed, before its message is handed to
  SMTP; ``after-send``: after the server accepted the message, before the outcome is
  recorded;
- ``billing-run-chunk``: a billing run has committed its first chunk of invoices and
  written its second (numbers taken, periods claimed), not yet committed; a chunk is one
  invoice (``COMMIT_EVERY`` is 1 here);
- ``bank-import-part``: a bank statement import has saved its first part of lines
  (``PART`` is 1 here), nothing committed;
- ``bank-book-part``: the booking after an import has committed its first part of
  pending lines and booked its second (``CHUNK`` is 1 here), not yet committed.

The crash fires once: the first horse to reach the point takes the Redis key ``crash-once``
and dies. The parent worker (a forking ``Worker``, as in production) sees its horse killed
and lets RQ retry the job; it works in burst mode, so it stops when the queues are empty.
With CRASH_WHOLE=1 the horse kills its parent first: the whole worker dies (as a machine
or container restarting), its job left started in Redis for another worker to find.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from typing import Any

from rq import Worker

from saas import create_app, mail
from saas.billing.contracts import billing, bulk
from saas.billing.payments.bank import booking
from saas.billing.payments.bank import services as bank
from saas.queue import QUEUES, get_queue, redis_connection

CRASH_AT = os.environ["CRASH_AT"]
_send = mail.Postman.send


def _crash_once(app) -> None:  # noqa: ANN001
    if redis_connection(app).getdel("crash-once"):
        if os.environ.get("CRASH_WHOLE"):
            os.kill(os.getppid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def _crash_on_call(app, func: Callable[..., Any], call: int) -> Callable[..., Any]:  # noqa: ANN001
    """func, dying once right after its ``call``-th call in a horse returned."""
    calls = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        calls.append(1)
        if len(calls) == call:
            _crash_once(app)
        return result

    return wrapped


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
    if CRASH_AT == "billing-run-chunk":
        billing.COMMIT_EVERY = 1
        bulk.write_chunk = _crash_on_call(app, bulk.write_chunk, 2)
    if CRASH_AT == "bank-import-part":
        bank.PART = 1
        bank._save_and_book = _crash_on_call(app, bank._save_and_book, 1)
    if CRASH_AT == "bank-book-part":
        booking.CHUNK = 1
        booking.book_automatic = _crash_on_call(app, booking.book_automatic, 2)
    with app.app_context():
        queues = [get_queue(name, app) for name in QUEUES]
        Worker(queues, connection=redis_connection(app)).work(burst=True)


if __name__ == "__main__":
    main()
