"""Staff sessions end after a while idle and after a fixed time however busy (issue 13).

Wall-clock time (not saas.clock, which tests freeze at business dates): the session keeps
when it was signed in and when it was last used. A session past either limit is signed
out, remember-me cookie included, and the next page asks to sign in again.
"""

from __future__ import annotations

import time

from flask import Flask, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user, user_logged_in
from werkzeug.wrappers import Response

STARTED, SEEN = "_signed_in_at", "_seen_at"
# Writing the session on every request would resend the cookie each time; a minute's
# precision is plenty for limits counted in minutes and hours.
TOUCH_SECONDS = 60


def expired(now: float, started: float | None, seen: float | None, idle_seconds: int,
            absolute_seconds: int) -> str | None:
    """Why a session has ended at ``now`` ("idle" or "absolute"), or None while it lasts."""
    if started is not None and now - started > absolute_seconds:
        return "absolute"
    if seen is not None and now - seen > idle_seconds:
        return "idle"
    return None


def init_app(app: Flask) -> None:
    @user_logged_in.connect_via(app)
    def _stamp_sign_in(sender: Flask, user: object, **extra: object) -> None:
        session[STARTED] = session[SEEN] = int(time.time())

    @app.before_request
    def end_expired_sessions() -> Response | None:
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        now = int(time.time())
        reason = expired(now, session.get(STARTED), session.get(SEEN),
                         app.config["SESSION_IDLE_MINUTES"] * 60,
                         app.config["SESSION_ABSOLUTE_HOURS"] * 3600)
        if reason is not None:
            logout_user()
            session.pop(STARTED, None)
            session.pop(SEEN, None)
            flash("You were signed out after a while without activity. Sign in again."
                  if reason == "idle" else
                  "Your session has ended for safety. Sign in again.", "info")
            target = url_for("auth.login", next=request.full_path.rstrip("?"))
            if request.headers.get("HX-Request"):
                response = Response(status=204)
                response.headers["HX-Redirect"] = target
                return response
            return redirect(target)
        session.setdefault(STARTED, now)  # signed in before this was kept
        if now - session.get(SEEN, 0) >= TOUCH_SECONDS:
            session[SEEN] = now
        return None
