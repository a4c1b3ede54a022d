"""Backup and restore as the README documents it: pg_dump, pg_restore into an empty
database, and `flask documents verify` finds every document chain intact (issue 13)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from sqlalchemy import make_url, select

from saas import create_app
from saas.billing.documents.models import Document
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.services import tenants_and_zones
from tests.conftest import TEST_DATABASE_URL, _test_config
from tests.database import create_database, drop_database
from tests.factories import TenantFactory, issued_document

pytestmark = pytest.mark.postgres


def admin_url(database: str) -> str:
    """The superuser URL of one database, as libpq's tools take it."""
    return make_url(TEST_DATABASE_URL).set(drivername="postgresql", database=database
                                           ).render_as_string(hide_password=False)


@pytest.fixture()
def two_databases():
    """A migrated database with issued documents in two tenants, and an empty one."""
    source_owner, source_app, source = create_database(TEST_DATABASE_URL, "saas_backup")
    _, target_app, target = create_database(TEST_DATABASE_URL, "saas_restore")
    try:
        app = create_app(_test_config(source_owner, source_app))
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            for name in ("Nordlys AS", "Vltava s.r.o."):
                tenant = TenantFactory(name=name)
                for _ in range(3):
                    issued_document(tenant, lines=2)
            db.session.remove()
            db.engine.dispose()
        yield source, target, target_app
    finally:
        drop_database(TEST_DATABASE_URL, source)
        drop_database(TEST_DATABASE_URL, target)


def documents_of(app_url: str) -> list[tuple[str, str, str]]:
    """(number, stored PDF hash, hash of the PDF's bytes) of every document, all tenants."""
    app = create_app(_test_config(app_url, app_url))
    with app.app_context():
        rows = []
        for tenant_id, _ in tenants_and_zones():
            with scoping.tenant_context(tenant_id):
                rows += [(d.number, d.pdf_sha256, hashlib.sha256(d.pdf).hexdigest())
                         for d in db.session.scalars(select(Document).order_by(Document.id))]
        db.session.remove()
        db.engine.dispose()
        return rows


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs PostgreSQL's client tools")
def test_a_dump_restored_into_an_empty_database_verifies(two_databases, tmp_path):
    source, target, target_app = two_databases
    dump = tmp_path / "saas.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), admin_url(source)],
                   check=True, capture_output=True)
    subprocess.run(["pg_restore", "--exit-on-error", "--dbname", admin_url(target), str(dump)],
                   check=True, capture_output=True)

    # The restored database is used as production would: as the app role, under RLS.
    app = create_app(_test_config(target_app, target_app))
    result = app.test_cli_runner().invoke(args=["documents", "verify"])
    assert result.exit_code == 0, result.output
    assert "Checked 6 documents in 2 series: no breaks." in result.output
    restored = documents_of(target_app)
    assert len(restored) == 6
    assert all(stored == actual for _, stored, actual in restored)  # PDFs byte for byte
