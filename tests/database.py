"""Throwaway PostgreSQL databases with the two roles, for the tests and the benchmarks."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, make_url, text

OWNER_ROLE, APP_ROLE = "saas_owner", "saas_app"


def _admin_engine(admin_url: str):
    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    return url, create_engine(url, isolation_level="AUTOCOMMIT")


def create_database(admin_url: str, prefix: str = "saas_test") -> tuple[str, str, str]:
    """Create both roles (if missing) and a fresh database owned by the owner role.

    Return (owner URL, app URL, database name).
    """
    url, admin = _admin_engine(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        for role in (OWNER_ROLE, APP_ROLE):
            exists = connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).scalar()
            if not exists:
                connection.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}'))
    admin.dispose()
    owner_url = url.set(username=OWNER_ROLE, password=None, database=name)
    app_url = url.set(username=APP_ROLE, password=None, database=name)
    return (
        owner_url.render_as_string(hide_password=False),
        app_url.render_as_string(hide_password=False),
        name,
    )


def drop_database(admin_url: str, name: str) -> None:
    _, admin = _admin_engine(admin_url)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
