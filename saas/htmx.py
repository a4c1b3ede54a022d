"""Render a whole page, or only one block of it when htmx asks for a part."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, make_response, redirect, render_template
from jinja2_fragments.flask import render_block

from saas.extensions import htmx


def wants_fragment() -> bool:
    """True for htmx requests that swap part of a page (not history restores)."""
    return bool(htmx) and not htmx.history_restore_request


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render template; for an htmx request and a named block, only that block.

    ``status`` is the HTTP status: a template variable of that name would be taken for it
    (a page answered with status 0), so anything but a number is refused here.
    """
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(f"render(status={status!r}): the HTTP status is a number; give the"
                        " template's variable another name")
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def local_path(target: str | None, default: str) -> str:
    """target if it is a path on this site, else default: no open redirects."""
    target = target or ""
    if target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default


def redirect_to(location: str) -> Response:
    """POST → redirect → GET; for htmx, a client-side redirect so the whole page reloads."""
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)
