"""The API's one error shape: ``{"error": {"code", "message", "fields", "status", "title"}}``.

``code`` is stable and meant for programs; ``message`` is for people; ``fields`` names the
request fields at fault (``lines.0.quantity``) with a message each.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from pydantic import ValidationError
from werkzeug.http import HTTP_STATUS_CODES

# The code of an error that has no more particular one.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "server_error",
}


class ApiError(Exception):
    """Answer the request with this error (raised anywhere below an API view)."""

    def __init__(self, status: int, code: str, message: str,
                 fields: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or []
        self.headers = headers or {}


def error_body(status: int, code: str, message: str,
               fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or [],
                      "status": status, "title": HTTP_STATUS_CODES.get(status, "Error")}}


def error_response(error: ApiError) -> Response:
    response = jsonify(error_body(error.status, error.code, error.message, error.fields))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """Pydantic's errors as ``{"field": "lines.0.quantity", "message": ...}``."""
    fields = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"])
        fields.append({"field": f"{prefix}{location}" if location else prefix.rstrip("."),
                       "message": error["msg"]})
    return fields


def not_found(what: str = "object") -> ApiError:
    return ApiError(404, "not_found", f"No such {what} in this company.")
