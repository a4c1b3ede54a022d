"""worker.py's forked work horses never share the worker's pooled database connections."""

from __future__ import annotations

import os

from sqlalchemy import text

from saas.extensions import db
from worker import forget_connections_at_fork


def _backend_pid() -> int:
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.session.remove()  # back to the pool, as a finished job leaves it
    return pid


def test_a_work_horse_opens_a_connection_of_its_own(app) -> None:
    forget_connections_at_fork(app)
    with app.app_context():
        _backend_pid()  # a connection pooled in the worker, as send_deferred leaves one
        pooled = db.engine.pool.checkedin()
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the work horse: nothing inherited in its pool, a query works
            try:
                inherited = db.engine.pool.checkedin()
                os.write(write, f"{inherited} {_backend_pid()}".encode())
            finally:
                os._exit(0)
        os.close(write)
        os.waitpid(child, 0)
        inherited, horse = (int(n) for n in os.read(read, 64).split())
        os.close(read)
        assert _backend_pid(), "the worker's own connections still work"
    assert pooled >= 1
    assert inherited == 0
    assert horse > 0
