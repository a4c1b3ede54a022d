"""Settings, read from the environment once when the app is created."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Use SECRET_KEY, or a key kept in instance/ so demo sessions survive restarts."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    INSTANCE_DIR.mkdir(exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
    return key_file.read_text().strip()


def from_environment() -> dict[str, object]:
    """Build the Flask config mapping from environment variables (see README)."""
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'demo.db'}"
    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "SECRET_KEY": _secret_key(),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # A pooled connection is checked before use, so after a database restart the first
        # request gets a fresh connection instead of an error.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Migrations run as the role that owns the tables; the app as one that does not.
        "MIGRATION_DATABASE_URL": normalise_database_url(
            os.environ.get("MIGRATION_DATABASE_URL") or database_url
        ),
        "APP_DB_ROLE": os.environ.get("APP_DB_ROLE", "saas_app"),
        "REDIS_URL": redis_url,
        "SMTP_URL": os.environ.get("SMTP_URL") or None,
        "MAIL_FROM": os.environ.get("MAIL_FROM", "invoices@localhost"),
        # Seconds between retries of a failed e-mail job; as many retries as numbers.
        "JOB_RETRY_INTERVALS": tuple(
            int(n) for n in os.environ.get("JOB_RETRY_INTERVALS", "10,60,300").split(",") if n),
        # Tenants swept at once by a reminder sweep (PostgreSQL; one at a time on SQLite).
        "SWEEP_THREADS": int(os.environ.get("SWEEP_THREADS", "4")),
        "OUTBOX_DIR": os.environ.get("OUTBOX_DIR") or str(INSTANCE_DIR / "outbox"),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # Proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed
        # (werkzeug's ProxyFix); 0 believes none, so request.remote_addr is the peer.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", 0)),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Staff sessions end after this long without a request, and after this long at all.
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", 60)),
        "SESSION_ABSOLUTE_HOURS": int(os.environ.get("SESSION_ABSOLUTE_HOURS", 12)),
        # "Remember me" keeps a staff member signed in across browser restarts this long.
        "REMEMBER_COOKIE_DURATION": int(os.environ.get("REMEMBER_DAYS", 14)) * 24 * 3600,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)),
        # The busiest pages kept in Redis until their tenant's data changes
        # (saas/page_cache.py), at most this many seconds.
        "PAGE_CACHE": _bool("PAGE_CACHE", True),
        "PAGE_CACHE_SECONDS": int(os.environ.get("PAGE_CACHE_SECONDS", 300)),
        "PAGE_CACHE_PREFIX": os.environ.get("PAGE_CACHE_PREFIX", "pc"),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "saas"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down: limits are counted in the process's memory instead of failing pages.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute; 100 per day"),
        # Requests per API token (the JSON API under /api/v1).
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600/minute"),
        "TOKEN_MAX_AGE_SECONDS": int(os.environ.get("TOKEN_MAX_AGE_SECONDS", 2 * 24 * 3600)),
        # The customer portal: a sign-in link works once within these minutes; the link in a
        # document's e-mail opens it for these days (until staff revoke it); a portal
        # session lasts these hours; link requests per address and client.
        "PORTAL_SIGN_IN_MINUTES": int(os.environ.get("PORTAL_SIGN_IN_MINUTES", 30)),
        "PORTAL_DOCUMENT_LINK_DAYS": int(os.environ.get("PORTAL_DOCUMENT_LINK_DAYS", 60)),
        "PORTAL_SESSION_HOURS": int(os.environ.get("PORTAL_SESSION_HOURS", 12)),
        "PORTAL_LINK_RATE_LIMIT": os.environ.get("PORTAL_LINK_RATE_LIMIT",
                                                 "5 per minute; 50 per day"),
        # Online payment in the portal (Stripe Checkout): the platform's account, which
        # tenants use unless they connect their own keys or a Connect account (settings).
        # STRIPE_API_BASE points the stripe library elsewhere (the tests' fake Stripe).
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        # Fernet keys (comma separated, newest first: it encrypts, all decrypt) for the
        # secrets stored at rest: tenants' Stripe keys, webhook secrets, SMTP passwords
        # (saas/encryption.py). STRIPE_KEYS_ENCRYPTION_KEY is the old name, still read.
        # Unset, a key is derived from SECRET_KEY: fine for development, not production.
        "ENCRYPTION_KEYS": os.environ.get("ENCRYPTION_KEYS") or None,
        "STRIPE_KEYS_ENCRYPTION_KEY": os.environ.get("STRIPE_KEYS_ENCRYPTION_KEY") or None,
        # A failed webhook event is tried again after these minutes, then given up.
        "STRIPE_EVENT_RETRY_MINUTES": tuple(
            int(n) for n in os.environ.get("STRIPE_EVENT_RETRY_MINUTES", "5,30,120,720").split(",")
            if n
        ),
        # Without a Stripe key, `make run` pays on a demo checkout page of our own.
        "STRIPE_DEMO": _bool("STRIPE_DEMO", False),
        # Every hour, Checkout Sessions of these last hours are read again from Stripe and
        # paid ones without a payment recorded (their webhook never came) are recorded.
        "STRIPE_RECONCILE_HOURS": int(os.environ.get("STRIPE_RECONCILE_HOURS", 48)),
        # Outbound webhooks (saas/api/webhooks): seconds a receiver has to answer; minutes
        # between tries of a failed delivery (then it is given up); hours an endpoint may
        # fail without a success before it is switched off; whether URLs may point at
        # loopback or private addresses (the tests and a local demo; never production).
        "WEBHOOK_TIMEOUT_SECONDS": float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", 10)),
        "WEBHOOK_RETRY_MINUTES": tuple(
            int(n) for n in os.environ.get("WEBHOOK_RETRY_MINUTES", "1,5,30,120,720").split(",")
            if n
        ),
        "WEBHOOK_DISABLE_AFTER_HOURS": int(os.environ.get("WEBHOOK_DISABLE_AFTER_HOURS", 72)),
        "WEBHOOKS_ALLOW_PRIVATE_HOSTS": _bool("WEBHOOKS_ALLOW_PRIVATE_HOSTS", False),
        # The same for tenants' own outgoing mail servers (Settings → E-mail sending).
        "MAIL_SERVERS_ALLOW_PRIVATE_HOSTS": _bool("MAIL_SERVERS_ALLOW_PRIVATE_HOSTS", False),
        # Import files with more rows than this run as a background job with progress.
        "IMPORT_INLINE_ROWS": int(os.environ.get("IMPORT_INLINE_ROWS", 1000)),
        "LOGO_MAX_BYTES": int(os.environ.get("LOGO_MAX_BYTES", 512 * 1024)),
        "WTF_CSRF_TIME_LIMIT": None,
    }


def normalise_database_url(url: str) -> str:
    """Point plain postgres URLs at psycopg 3, the only PostgreSQL driver installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
