"""Rendered pages kept in Redis until the tenant's data changes (issue 13: load).

The busiest pages — the invoice list, a document's page, the portal's document list and
the API's document list — are read far more often than the data under them changes. Each
is kept, as the full path rendered it, under a key made of:

- the tenant's data version and the platform's (``pc:v:<tenant id>``, ``pc:v:*``, ``pc``
  being ``PAGE_CACHE_PREFIX``), which every committed write raises: a write inside a
  tenant raises that tenant's, a write to a table no tenant owns (users, tenants) or made
  outside any tenant raises the platform's, which every key contains;
- who asks: the signed-in staff member and the session's CSRF secret, the portal contact
  and when it signed in, or the API token (hashed);
- the address with its query, the htmx headers, and the quarter of an hour (every time
  zone's midnight is on a quarter hour, so "overdue" and "today" are never a day late).

Writes are seen where they happen, in one place: every SQL statement any engine runs
passes ``_note_write``, which marks the connection's transaction with the tenant the
statement wrote in. The marks are published (Redis ``INCR``) only after the commit, and
dropped on rollback; a reader that took the old version before the commit stores what it
rendered under that old key, which nobody asks for again. Entries live at most
``PAGE_CACHE_SECONDS`` (5 minutes), which also bounds how long a version raise lost to a
Redis failure could matter.

Serving is a WSGI middleware in front of Flask (``Middleware``): a staff or portal page
found there is answered without the tenant look-up, the user look-up and the view (no
SQL). A page is stored only when the full path answered 200, set no cookie, showed no
flash message and the delayed-jobs notice, and authenticated the same person the key
names, directly (a bureau member acting in a client is never served from here). The staff
session's idle and absolute limits are checked on the way in, and a session due for its
minute's touch goes the full way. The API's list is counted against the token's rate limit
by the middleware, on Flask-Limiter's own counter (same key), and the full path then
leaves it uncounted: each request counts once, answered from here or not.

Off without Redis, and when ``PAGE_CACHE`` is false (the test suite's default; the page
cache's own tests turn it on); versions are raised by every process that has Redis.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import limits
from flask import Flask, Response, current_app, g, request, session
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from werkzeug.exceptions import HTTPException

from saas import clock
from saas.tenants import scoping

log = logging.getLogger(__name__)

STAFF_PAGES = frozenset({"documents.index", "documents.show"})
PORTAL_PAGES = frozenset({"portal.documents_list"})
API_PAGES = frozenset({"api.list_documents"})
PLATFORM = "*"
QUARTER_HOUR = 900
ENVIRON_KEY = "saas.page_cache.key"
ENVIRON_STORE = "saas.page_cache.store"
ENVIRON_COUNTED = "saas.page_cache.counted"  # the rate limiter counted it already
ENVIRON_LIMIT = "saas.page_cache.limit"
# Only these addresses are looked at at all.
PREFIXES = ("/t/", "/p/", "/api/v1/documents")
# Session cookies read, per process (a cookie's values never change: it is signed).
SESSIONS_KEPT = 2048
# Not kept with a page: they belong to one answer (the rate limiter's, the cookie, the size).
UNKEPT_HEADERS = frozenset({"set-cookie", "content-length", "date", "retry-after",
                            "x-ratelimit-limit", "x-ratelimit-remaining",
                            "x-ratelimit-reset"})
READS = frozenset({"SELECT", "SHOW", "SET", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                   "RELEASE", "EXPLAIN", "VALUES", "PRAGMA", "FETCH", "CLOSE", "DECLARE"})
FIRST_WORD = re.compile(r"\s*(\w+)")
WRITTEN_TABLE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?", re.I)


@dataclass(frozen=True)
class Store:
    """Where an app keeps its versions and pages: a Redis and a key prefix."""

    redis: Redis
    prefix: str


# Every app's store in this process (tests make several apps), and which engine is whose:
# a write is published to its own app's store, or to all when its engine is not known.
_stores: dict[tuple[str, str], Store] = {}
_engine_stores: dict[int, Store] = {}

# --- knowing what changed -----------------------------------------------------------------

DIRTY, PENDING = "saas.page_cache.dirty", "saas.page_cache.pending"


def written_in(statement: str) -> str | None:
    """Whose data a statement writes: a tenant id, PLATFORM, or None for a read."""
    first = FIRST_WORD.match(statement)
    if first is None or first.group(1).upper() in READS:
        return None
    table = WRITTEN_TABLE.match(statement)
    tenant = scoping.current_tenant_id()
    if (table is None or tenant is None or scoping._across_tenants.get()
            or table.group(1) not in scoping._tenant_table_names()):
        return PLATFORM
    return str(tenant)


def _note_write(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if not _stores:
        return
    whose = written_in(statement)
    if whose is not None:
        conn.info.setdefault(DIRTY, set()).add((id(conn.engine), whose))


def _on_commit(conn: Any) -> None:
    # Just before the database commits: what this transaction wrote waits for the commit.
    if conn.invalidated:
        return
    dirty = conn.info.pop(DIRTY, None)
    if dirty:
        conn.info.setdefault(PENDING, set()).update(dirty)


def _on_rollback(conn: Any) -> None:
    # A connection that died forgets its info with it (and asking would reconnect).
    if not conn.invalidated:
        conn.info.pop(DIRTY, None)


def _publish_pending(info: dict) -> None:
    pending = info.pop(PENDING, None)
    if pending:
        publish(pending)


def _on_checkin(dbapi_connection: Any, record: Any) -> None:
    _publish_pending(record.info)


def _on_begin(conn: Any) -> None:
    if not conn.invalidated:
        _publish_pending(conn.info)


def _session_began(session: Session, transaction: Any, connection: Any) -> None:
    infos = session.info.setdefault("saas.page_cache.infos", [])
    if not any(info is connection.info for info in infos):
        infos.append(connection.info)


def _session_committed(session: Session) -> None:
    # After the commit, before the connection goes back to the pool. In the test suite a
    # commit is a savepoint's release, so what is still marked dirty is published too.
    for info in session.info.pop("saas.page_cache.infos", []):
        written = info.pop(PENDING, set()) | info.pop(DIRTY, set())
        if written:
            publish(written)


def _session_rolled_back(session: Session, previous_transaction: Any = None) -> None:
    if previous_transaction is None or previous_transaction.parent is None:
        session.info.pop("saas.page_cache.infos", None)


def publish(written: Iterable[tuple[int, str]]) -> None:
    """Raise the data versions of these tenants (or the platform's): kept pages expire.

    ``written``: (engine id, whose) pairs, as ``_note_write`` marks them.
    """
    raised: dict[Store, set[str]] = {}
    for engine, whose in written:
        store = _engine_stores.get(engine)
        for target in [store] if store is not None else list(_stores.values()):
            raised.setdefault(target, set()).add(whose)
    for store, names in raised.items():
        try:
            pipe = store.redis.pipeline(transaction=False)
            for whose in names:
                pipe.incr(f"{store.prefix}:v:{whose}")
            pipe.execute()
        except RedisError:
            log.warning("page cache: could not raise the data versions of %s", names)


_listening = False


def _listen() -> None:
    global _listening
    if _listening:
        return
    event.listen(Engine, "before_cursor_execute", _note_write)
    event.listen(Engine, "commit", _on_commit)
    event.listen(Engine, "rollback", _on_rollback)
    event.listen(Engine, "begin", _on_begin)
    event.listen(Pool, "checkin", _on_checkin)
    event.listen(Session, "after_begin", _session_began)
    event.listen(Session, "after_commit", _session_committed)
    event.listen(Session, "after_soft_rollback", _session_rolled_back)
    _listening = True


# --- keys ---------------------------------------------------------------------------------

# KEYS[1]: the address's tenant id, KEYS[2]: the page, KEYS[3]: the rate limiter's counter
# of this token and address (the API; "" for pages). ARGV[1]: the tenant id when known,
# ARGV[2], ARGV[3]: the limit's window (seconds) and amount, ARGV[4]: the keys' prefix.
# A page is kept with the stamp of the versions it was rendered at ("tenant:mine:platform")
# and answered only while they are the current ones. The API's request is counted first,
# as the limits library's fixed window counts it (its incr_expire: INCRBY, EXPIRE when
# new), on its own key: one round trip per request. Over the limit: {2, count, ttl}.
LOOK_UP = """
local count, ttl = -1, -1
if KEYS[3] ~= '' then
  count = redis.call('INCRBY', KEYS[3], 1)
  if count == 1 then redis.call('EXPIRE', KEYS[3], ARGV[2]) end
  ttl = redis.call('TTL', KEYS[3])
  if count > tonumber(ARGV[3]) then return {2, '', count, ttl} end
end
local tenant = ARGV[1]
if tenant == '' then
  tenant = redis.call('GET', KEYS[1])
  if not tenant then return false end
end
local versions = redis.call('MGET', ARGV[4] .. ':v:' .. tenant, ARGV[4] .. ':v:*')
local stamp = tenant .. ':' .. (versions[1] or '0') .. ':' .. (versions[2] or '0') .. '\\n'
local entry = redis.call('GET', KEYS[2])
if entry and string.sub(entry, 1, string.len(stamp)) == stamp then
  return {1, entry, count, ttl}
end
return {0, stamp, count, ttl}
"""


def _store(app: Flask) -> Store | None:
    return app.extensions.get("saas.page_cache") if app.config.get("PAGE_CACHE") else None


_scripts: dict[int, Any] = {}
# What the code and the settings are: part of every key, so that a deployment or a changed
# setting never answers a page the old ones rendered (set by init_app).
_release = ""


def release_of(app: Flask) -> str:
    """A digest of the package's files and the app's plain settings, the same in every
    process that runs this code with these settings."""
    digest = hashlib.blake2b(digest_size=16)
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".html", ".txt", ".po", ".mo"}:
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    plain = (str, int, float, bool, type(None), tuple)
    settings = sorted((name, repr(value)) for name, value in app.config.items()
                      if isinstance(value, plain))
    digest.update(repr(settings).encode())
    return digest.hexdigest()


def _page_key(req: Any, prefix: str, where: str, identity: str) -> str:
    quarter = int(clock.now().timestamp() // QUARTER_HOUR)
    htmx = "|".join(f"{name}={value}" for name, value in sorted(req.headers.items())
                    if name.lower().startswith("hx-"))
    material = "\n".join((_release, where, identity, str(quarter), req.full_path, htmx))
    return f"{prefix}:p:" + hashlib.blake2b(material.encode(), digest_size=20).hexdigest()


def _find(store: Store, req: Any, slug: str, tenant: str, identity: str,
          limit: tuple[str, int, int] = ("", 0, 0)) -> tuple[str, bytes | None]:
    """The page's key and stamp ("key stamp") for storing, and the page when it is current.

    ("", None) when the address's tenant is not known yet, or the request is over its
    rate limit (``limit``: the counter's key, window and amount; the API only).
    """
    script = _scripts.get(id(store.redis))
    if script is None:
        script = _scripts[id(store.redis)] = store.redis.register_script(LOOK_UP)
    key = _page_key(req, store.prefix, slug or tenant, identity)
    counter, window, amount = limit
    found = script(keys=[f"{store.prefix}:slug:{slug}", key, counter],
                   args=[tenant, window, amount, store.prefix])
    if not found:
        return "", None
    kept, value, count, ttl = found
    if counter:
        if kept == 2:
            return "", None
        _note_limit(req, amount, amount - count, time.time() + max(ttl, 0))
    if kept:
        return "", value
    return f"{key} {value.decode().strip()}", None


def _note_limit(req: Any, amount: int, remaining: int, reset: float) -> None:
    """The request was counted: Flask-Limiter leaves it, and its headers are ours to send."""
    req.environ[ENVIRON_COUNTED] = True
    req.environ[ENVIRON_LIMIT] = [("X-RateLimit-Limit", str(amount)),
                                  ("X-RateLimit-Remaining", str(max(remaining, 0))),
                                  ("X-RateLimit-Reset", str(int(reset)))]


def _encode(stamp: str, response_headers: list[tuple[str, str]], body: bytes) -> bytes:
    kept = [(name, value) for name, value in response_headers
            if name.lower() not in UNKEPT_HEADERS]
    return f"{stamp}\n".encode() + json.dumps(kept).encode() + b"\n" + body


def _decode(entry: bytes) -> tuple[list[tuple[str, str]], bytes]:
    _, head, body = entry.split(b"\n", 2)
    return [tuple(pair) for pair in json.loads(head)], body


# --- who asks -----------------------------------------------------------------------------


def staff_identity(app: Flask, values: Any) -> str | None:
    """The signed-in staff member of this session, while the session needs no writing."""
    from saas.tenants.session_timeouts import SEEN, STARTED, TOUCH_SECONDS, expired

    user, started, seen = values.get("_user_id"), values.get(STARTED), values.get(SEEN)
    if not user or started is None or seen is None or "_flashes" in values:
        return None
    now = int(time.time())
    if now - seen >= TOUCH_SECONDS or expired(
            now, started, seen, app.config["SESSION_IDLE_MINUTES"] * 60,
            app.config["SESSION_ABSOLUTE_HOURS"] * 3600):
        return None
    return f"staff:{user}:{values.get('csrf_token', '')}"


def portal_identity(app: Flask, values: Any) -> str | None:
    """The contacts signed in to portals in this session (no document links), while they
    last. The whole portal state is the identity: the address names the tenant only by
    its slug."""
    portals = values.get("portal")
    if not portals or not isinstance(portals, dict) or "_flashes" in values:
        return None
    limit = clock.now().timestamp() - app.config["PORTAL_SESSION_HOURS"] * 3600
    for state in portals.values():
        if not isinstance(state, dict) or set(state) != {"contact", "at"}:
            return None
        if float(state["at"]) <= limit:
            return None
    signed_in = ",".join(f"{tenant}={state['contact']}@{state['at']}"
                         for tenant, state in sorted(portals.items()))
    return f"portal:{signed_in}:{values.get('csrf_token', '')}"


@functools.lru_cache(maxsize=8)
def _parse_limit(text: str) -> limits.RateLimitItem:
    return limits.parse(text)


def _jobs_delayed(app: Flask) -> bool:
    return bool(app.extensions.get("saas.deferred_waiting", 0))


# --- serving ------------------------------------------------------------------------------


class Middleware:
    """Answers kept staff and portal pages before Flask does any work; stores new ones."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app, self.wsgi_app = app, wsgi_app
        self._sessions: dict[str, Any] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        store = _store(self.app)
        if store is None or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        try:
            key, entry = self._look_up(store, environ)
        except RedisError:
            return self.wsgi_app(environ, start_response)
        if entry is not None:
            headers, body = _decode(entry)
            start_response("200 OK", [*headers, *environ.get(ENVIRON_LIMIT, ()),
                                      ("Content-Length", str(len(body))),
                                      ("X-Page-Cache", "hit")])
            return [body]
        if key:
            environ[ENVIRON_KEY] = key
        return self._store_after(store, environ, start_response)

    def _look_up(self, store: Store, environ: dict) -> tuple[str, bytes | None]:
        """Flask's own URL matching and session cookie, without a request context."""
        if (not environ.get("PATH_INFO", "").startswith(PREFIXES)
                or _jobs_delayed(self.app)):
            return "", None
        req = self.app.request_class(environ)
        try:
            endpoint, args = self.app.create_url_adapter(req).match()
        except HTTPException:
            return "", None
        if endpoint in API_PAGES:
            return self._look_up_api(store, req)
        slug = args.get("tenant_slug")
        if slug is None or endpoint not in STAFF_PAGES | PORTAL_PAGES:
            return "", None
        values = self._session(req)
        identity = (staff_identity(self.app, values) if endpoint in STAFF_PAGES
                    else portal_identity(self.app, values))
        if identity is None:
            return "", None
        return _find(store, req, slug, "", identity)

    def _session(self, req: Any) -> Any:
        """The session cookie's values, as Flask reads them; each cookie read once."""
        cookie = req.cookies.get(self.app.config["SESSION_COOKIE_NAME"])
        values = self._sessions.get(cookie) if cookie else None
        if values is None:
            values = self.app.session_interface.open_session(self.app, req) or {}
            if cookie:
                if len(self._sessions) >= SESSIONS_KEPT:
                    self._sessions.clear()
                self._sessions[cookie] = values
        return values

    def _look_up_api(self, store: Store, req: Any) -> tuple[str, bytes | None]:
        """The API's list: counted against the token's rate limit here, as Flask-Limiter
        counts it (the same counter), then looked up; the full path does not count it
        again. Over the limit, the full path answers (429)."""
        from saas.api import tokens
        from saas.extensions import limiter

        header = req.headers.get("Authorization", "")
        try:
            tenant = str(tokens.tenant_of(header.partition(" ")[2].strip()))
        except tokens.TokenRefused:
            return "", None
        digest = hashlib.sha256(header.encode()).hexdigest()
        # The token, and the minute: the first request of each minute goes the full way,
        # which keeps the token's "last used" as exact as without the cache.
        identity = f"api:{digest}:{int(clock.now().timestamp() // 60)}"
        item = _parse_limit(self.app.config["API_RATE_LIMIT"])
        # The key Flask-Limiter counts a blueprint's limit under: its prefix (read from the
        # extension, which keeps the one it was set up with), the key, the endpoint.
        args = (limiter._key_prefix, "api:" + digest[:32], "api.list_documents")
        storage = limiter.storage
        if (isinstance(limiter.limiter, FixedWindowRateLimiter)
                and isinstance(storage, RedisStorage)
                and self.app.config.get("RATELIMIT_STORAGE_URI") == self.app.config["REDIS_URL"]):
            counter = storage.prefixed_key(item.key_for(*args))
            return _find(store, req, "", tenant, identity, (counter, item.get_expiry(),
                                                            item.amount))
        # Another strategy or store: counted by the limiter itself (two more round trips).
        if not limiter.limiter.hit(item, *args):
            return "", None
        stats = limiter.limiter.get_window_stats(item, *args)
        _note_limit(req, item.amount, stats.remaining, stats.reset_time)
        return _find(store, req, "", tenant, identity)

    def _store_after(self, store: Store, environ: dict,
                     start_response: Callable) -> Iterable[bytes]:
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            # The rate limit counted here is told here (Flask-Limiter did not count it).
            headers = [*headers, *environ.get(ENVIRON_LIMIT, ())]
            answer.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        stored = environ.get(ENVIRON_STORE)
        if (not stored or not answer.get("status", "").startswith("200")
                or any(name.lower() == "set-cookie" for name, _ in answer["headers"])):
            return body
        chunks = list(body)
        if hasattr(body, "close"):
            body.close()
        key, stamp = stored.split(" ", 1)
        try:
            store.redis.set(key, _encode(stamp, answer["headers"], b"".join(chunks)),
                            ex=self.app.config["PAGE_CACHE_SECONDS"])
        except RedisError:
            log.warning("page cache: could not keep %s", environ.get("PATH_INFO"))
        return chunks


def _mark_storable(response: Response) -> Response:
    """After the full path: may what it answered be kept under the key looked up?"""
    endpoint = request.endpoint
    key = request.environ.get(ENVIRON_KEY)
    tenant = g.get("tenant")
    if tenant is not None and key and not key.split(" ")[1].startswith(f"{tenant.id}:"):
        key = None  # the address was another tenant's (renamed, or deleted and reused)
    if not key:
        _remember_slug(endpoint)
    if not key or response.status_code != 200 or _jobs_delayed(current_app):
        return response
    if endpoint in STAFF_PAGES:
        from flask_login import current_user

        ok = (g.get("membership") is not None and g.get("acting_tenant_id") is None
              and current_user.is_authenticated
              and session.get("_user_id") == current_user.get_id()
              and staff_identity(current_app, session) is not None)
    elif endpoint in PORTAL_PAGES:
        visitor = g.get("portal_visitor")
        state = session.get("portal", {}).get(str(tenant.id), {})
        ok = (visitor is not None and visitor.contact is not None and not visitor.links
              and state.get("contact") == visitor.contact.id
              and portal_identity(current_app, session) is not None)
    elif endpoint in API_PAGES:
        ok = g.get("api_token") is not None
    else:
        ok = False
    if ok:
        request.environ[ENVIRON_STORE] = key
    return response


def _remember_slug(endpoint: str | None) -> None:
    # The middleware knows a tenant by its address; versions are kept by tenant id.
    tenant = g.get("tenant")
    if tenant is None or endpoint not in STAFF_PAGES | PORTAL_PAGES:
        return
    try:
        store = _store(current_app)
        store.redis.set(f"{store.prefix}:slug:{tenant.slug}", tenant.id, ex=24 * 3600)
    except RedisError:
        log.warning("page cache: could not note the address of tenant %s", tenant.id)


def init_app(app: Flask) -> None:
    """Keep the busiest pages when Redis is there and PAGE_CACHE is on.

    Every process with Redis raises the data versions as it writes, PAGE_CACHE or not: a
    worker started without it cannot leave a web process's kept pages stale.
    """
    if not app.config.get("REDIS_URL"):
        return
    from saas.queue import redis_connection

    store = Store(redis_connection(app), app.config["PAGE_CACHE_PREFIX"])
    _stores[(app.config["REDIS_URL"], store.prefix)] = store
    app.extensions["saas.page_cache"] = store
    with app.app_context():
        from saas.extensions import db

        _engine_stores[id(db.engine)] = store
    _listen()
    if not app.config.get("PAGE_CACHE"):
        return
    global _release
    _release = release_of(app)
    app.after_request(_mark_storable)
    app.wsgi_app = Middleware(app, app.wsgi_app)

    from saas.extensions import limiter

    @limiter.request_filter
    def counted_already() -> bool:
        return bool(request.environ.get(ENVIRON_COUNTED))
