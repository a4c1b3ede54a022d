"""The invoicing SaaS: create_app() builds the Flask application."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from saas import config as settings
from saas.extensions import csrf, db, limiter, login_manager, migrate
from saas.extensions import htmx as htmx_extension  # "htmx" is the saas.htmx module


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, overridden by config."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.from_mapping(settings.from_environment())
    if config:
        app.config.update(config)
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    db.init_app(app)
    _configure_sqlite(app)
    migrate.init_app(app, db, directory=str(settings.INSTANCE_DIR.parent / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    htmx_extension.init_app(app)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)

    _import_models()

    from saas import input_guard
    from saas.tenants import access, session_timeouts

    input_guard.init_app(app)  # first: no view, nor the tenant look-up, sees a NUL

    access.init_app(app)
    session_timeouts.init_app(app)
    _register_blueprints(app)

    from saas import deferred_jobs, errors, security
    from saas.portal import staff as portal_staff

    errors.init_app(app)
    security.init_app(app)
    deferred_jobs.init_app(app)
    portal_staff.init_app(app)

    from saas.automations import attachments as automation_attachments

    automation_attachments.init_app(app)

    from saas import cli

    cli.init_app(app)

    from saas import page_cache

    page_cache.init_app(app)  # wraps the WSGI app; the proxy fix goes around it
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Believe the X-Forwarded-* headers of as many proxies as TRUSTED_PROXIES says.

    Behind a load balancer the peer is the proxy; the client's address (recorded when a
    quote is accepted) is in X-Forwarded-For. With no trusted proxy the header is ignored:
    anyone can send one.
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _configure_sqlite(app: Flask) -> None:
    """Make SQLite (the zero-setup demo database) keep foreign keys and real savepoints."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def _import_models() -> None:
    # Every model module is imported here so that mappers and metadata are complete
    # before the first query, in web processes, workers and migrations alike.
    import saas.api.models  # noqa: F401
    import saas.api.webhooks.services  # noqa: F401 - models and the events consumer
    import saas.automations.runs  # noqa: F401 - models and the events consumer
    import saas.billing.catalog.models  # noqa: F401
    import saas.billing.contracts.models  # noqa: F401
    import saas.billing.customers.models  # noqa: F401
    import saas.billing.documents.immutability  # noqa: F401 - models and the flush guard
    import saas.billing.dunning.settlement  # noqa: F401 - models; cases close as payments arrive
    import saas.billing.events  # noqa: F401 - the flush hook that records domain events
    import saas.billing.exports.models  # noqa: F401
    import saas.billing.imports.models  # noqa: F401
    import saas.billing.payments.models  # noqa: F401
    import saas.billing.recurring.models  # noqa: F401
    import saas.billing.reminders.models  # noqa: F401
    import saas.billing.todos.models  # noqa: F401
    import saas.billing.work.items  # noqa: F401 - models and the flush hook
    import saas.billing.work.payable_models  # noqa: F401
    import saas.billing.work.source_models  # noqa: F401
    import saas.deferred_jobs  # noqa: F401 - jobs waiting for Redis
    import saas.events.models  # noqa: F401
    import saas.outsourced_service.models  # noqa: F401
    import saas.portal.models  # noqa: F401
    import saas.tenants.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from saas.api.settings import bp as api_tokens_bp
    from saas.api.views import bp as api_bp
    from saas.api.webhooks.views import bp as webhooks_bp
    from saas.automations.views import bp as automations_bp
    from saas.billing.catalog.views import bp as catalog_bp
    from saas.billing.contracts.views import bp as contracts_bp
    from saas.billing.customers.views import bp as customers_bp
    from saas.billing.documents.views import bp as documents_bp
    from saas.billing.dunning.views import bp as collection_bp
    from saas.billing.exports.views import bp as exports_bp
    from saas.billing.imports.views import bp as imports_bp
    from saas.billing.payments.bank.views import bp as bank_bp
    from saas.billing.payments.views import bp as payments_bp
    from saas.billing.recurring.views import bp as recurring_bp
    from saas.billing.reminders.views import bp as reminders_bp
    from saas.billing.reports.views import bp as reports_bp
    from saas.billing.todos.views import bp as todos_bp
    from saas.billing.work.payable_views import bp as payables_bp
    from saas.billing.work.profitability_views import bp as profitability_bp
    from saas.billing.work.source_views import bp as sources_bp
    from saas.billing.work.views import bp as work_bp
    from saas.outsourced_service.client_views import bp as bureau_service_bp
    from saas.outsourced_service.views import bp as bureau_bp
    from saas.portal.payment_settings import bp as payment_settings_bp
    from saas.portal.staff import bp as portal_staff_bp
    from saas.portal.stripe_webhook import bp as stripe_webhook_bp
    from saas.portal.views import bp as portal_bp
    from saas.tenants.auth import bp as auth_bp
    from saas.tenants.mail_settings import bp as mail_settings_bp
    from saas.tenants.views import bp as tenant_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(tenant_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(contracts_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(bank_bp)
    app.register_blueprint(recurring_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(todos_bp)
    app.register_blueprint(work_bp)
    app.register_blueprint(sources_bp)
    app.register_blueprint(payables_bp)
    app.register_blueprint(profitability_bp)
    app.register_blueprint(collection_bp)
    app.register_blueprint(bureau_bp)
    app.register_blueprint(automations_bp)
    app.register_blueprint(bureau_service_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(portal_staff_bp)
    app.register_blueprint(payment_settings_bp)
    app.register_blueprint(mail_settings_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(stripe_webhook_bp)
    app.register_blueprint(webhooks_bp)
    # The API authenticates with tokens, not cookies, so CSRF does not apply to it.
    csrf.exempt(api_bp)
    # Stripe signs its webhooks; the signature is checked on the raw body instead.
    csrf.exempt(stripe_webhook_bp)
