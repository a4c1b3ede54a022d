"""Refuse text no database column can hold: the NUL character (0x00), wherever it comes in.

PostgreSQL's text types cannot store NUL, so a form field, query parameter, JSON string
or address carrying one would pass every validator and then fail at the INSERT (a 500).
It is never meant (no keyboard types it; a pasted binary or a probe does), so every
request is looked at once, before any view: one carrying NUL is answered 400 naming
where it was, and nothing is read or saved. Files are left alone: uploads are bytes,
and their parsers judge them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

from saas.errors import error_response

NUL = "\x00"


def _json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, text) for every key and string in a parsed JSON body."""
    if isinstance(value, str):
        yield path or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from _json_strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{path}.{index}" if path else str(index))


def _texts() -> Iterator[tuple[str, str]]:
    """(where, text) for everything a request says in text: address, query, form, JSON."""
    yield "the address", request.path
    for name, value in request.args.items(multi=True):
        yield name, name + value
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            yield name, name + value
    elif request.is_json:
        yield from _json_strings(request.get_json(silent=True))


def refusal() -> Response | None:
    """The 400 answer to a request carrying NUL, or None when it carries none."""
    for where, text in _texts():
        if NUL in text:
            return error_response(
                400, "Invalid character",
                f"“{where.replace(NUL, '')}” contains a NUL character (0x00), which cannot be"
                " saved. Remove it and send again.")
    return None


def init_app(app: Flask) -> None:
    app.before_request(refusal)
