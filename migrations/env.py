"""Alembic environment: migrations run as the role that owns the tables.

MIGRATION_DATABASE_URL (the owner) is used when set, else the app's DATABASE_URL. After an
upgrade on PostgreSQL the app role (APP_DB_ROLE, default saas_app) is granted data access
to every table, so new tables are usable by the app without a manual step.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, pool, text

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
database_url = current_app.config["MIGRATION_DATABASE_URL"]
config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))


def grant_app_role(connection) -> None:
    """Give the app role data access (not ownership) to every table and sequence."""
    if connection.dialect.name != "postgresql":
        return
    role = current_app.config["APP_DB_ROLE"]
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).scalar()
    if not exists:
        logger.warning("app role %s does not exist; skipping grants (see README)", role)
        return
    connection.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
    connection.execute(
        text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
    )
    connection.execute(text(f'REVOKE ALL ON TABLE alembic_version FROM "{role}"'))
    connection.execute(text(f'GRANT SELECT ON TABLE alembic_version TO "{role}"'))
    connection.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))


def run_migrations_offline():
    context.configure(url=database_url, target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args["compare_type"] = True
    engine = create_engine(database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            **{**conf_args, "render_as_batch": connection.dialect.name == "sqlite"},
        )
        with context.begin_transaction():
            context.run_migrations()
            grant_app_role(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
