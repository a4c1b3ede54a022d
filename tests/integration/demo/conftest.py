"""The demo data of `make run`, seeded once for the tests that look at it.

Seeding every demo company (the sales chain, contracts, bank statements, the bureau and
its clients, field work, collection, automations ...) takes many seconds; the tests of
the demo used to seed it each, twice. Here `flask demo seed` runs once, as `make run`
runs it: into a database of its own, committed, with jobs run in-process (no Redis), so
the reminders it replays are sent as it goes and the e-mails land in the outbox. What the
command printed and the e-mails are kept (``seeded``). Each test then works in a
transaction over it that is rolled back afterwards, as everywhere else (``db_session``,
``make_client`` and ``client`` take this package's ``app``). That seeding again adds
nothing is tested once, over every table (test_seed_again.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import make_test_app, migrated_database
from tests.helpers import sent_mails


@pytest.fixture(scope="package")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from migrated_database(tmp_path_factory)


@dataclass(frozen=True)
class Seeded:
    app: Flask
    output: str  # what `flask demo seed` printed: the logins, a portal link, an API token
    mails: list[Message]  # the e-mails it sent: reminders, documents


@pytest.fixture(scope="package")
def seeded(database_urls: dict[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    application = make_test_app(database_urls, tmp_path_factory,
                                REDIS_URL=None, RATELIMIT_STORAGE_URI="memory://")
    result = application.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    yield Seeded(application, result.output, sent_mails(Path(application.config["OUTBOX_DIR"])))


@pytest.fixture(scope="package")
def app(seeded: Seeded) -> Flask:
    return seeded.app
