"""Refuse text no database column can hold: the NUL character (0x00) in an address, query or form.

PostgreSQL's text types cannot store NUL, so a form field, query parameter, JSON string
or address carrying one would pass every validator and then fail at the INSERT (a 500).
It is never meant (no keyboard types it; a pasted binary or a probe does), so every
request is looked at once, before any view: one carrying NUL in its address, query or
form is answered 400 naming where it was, and nothing is read or saved. Files are left
alone: uploads are bytes, and their parsers judge them. JSON bodies are the API's: its
request models refuse NUL themselves, as a 422 naming the field like any other bad value.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Response, request

from saas.errors import error_response

NUL = "\x00"


def _texts() -> Iterator[tuple[str, str]]:
    """(where, text) for what a request says in text: its address, query and form."""
    yield "the address", request.path
    for name, value in request.args.items(multi=True):
        yield name, name + value
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            yield name, name + value


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
