"""Shared set-up for benchmarks: a throwaway migrated database, results as JSON."""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from saas import create_app  # noqa: E402
from saas.extensions import db  # noqa: E402
from tests.database import APP_ROLE, create_database, drop_database  # noqa: E402

ADMIN_URL = os.environ.get("TEST_DATABASE_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def throwaway_app(**config: object) -> Iterator[Flask]:
    """An app on a fresh PostgreSQL database, migrated as the owner, dropped afterwards."""
    owner_url, app_url, name = create_database(ADMIN_URL, prefix="saas_bench")
    try:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": app_url,
            "MIGRATION_DATABASE_URL": owner_url,
            "APP_DB_ROLE": APP_ROLE,
            "REDIS_URL": None,
            "SECRET_KEY": "bench",
            **config,
        })
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(ADMIN_URL, name)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50 and p95 of a list of milliseconds, rounded to 3 decimals."""
    cuts = statistics.quantiles(samples_ms, n=100)
    return {"p50": round(cuts[49], 3), "p95": round(cuts[94], 3)}


def write_results(name: str, results: dict[str, object]) -> Path:
    """Write bench/results/NAME.json and print it."""
    folder = ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(results, indent=2, sort_keys=True))
    return path
