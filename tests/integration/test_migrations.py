"""The migrations and the models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from saas.extensions import db


def test_models_and_migrations_agree(db_session):
    def include_object(obj, name, type_, reflected, compare_to):
        # Trigram indexes are PostgreSQL-only and made by hand in the migrations.
        return not (type_ == "index" and name and name.endswith("_trgm"))

    context = MigrationContext.configure(
        db_session.connection(), opts={"compare_type": True, "include_object": include_object}
    )
    assert compare_metadata(context, db.metadata) == []
