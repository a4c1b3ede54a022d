"""Error pages: whole pages, fragments for htmx, JSON under /api."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from saas.extensions import db
from saas.htmx import render


def _wants_json() -> bool:
    return request.path.startswith("/api/")

def error_response(status: int, title: str, message: str) -> Response:
    """Answer an error in the form the client asked for."""
    if _wants_json():
        # The API's one error shape (saas.api.errors), also for errors no API view raised.
        from saas.api.errors import CODES, error_body

        response = jsonify(error_body(status, CODES.get(status, "error"), message))
        response.status_code = status
        return response
    return render("errors/error.html", block="content", status=status,
                  code=status, title=title, message=message)

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "There is nothing here. The address may be wrong, or the item was removed.",
    405: "This address does not accept that kind of request.",
    413: "The upload is too large.",
    429: "Too many attempts. Wait a minute and try again.",
}

def _too_large(app: Flask) -> str:
    """The 413 message, naming the limit (MAX_CONTENT_LENGTH) so the user knows what fits."""
    limit = app.config.get("MAX_CONTENT_LENGTH")
    if not limit:
        return MESSAGES[413]
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return (f"The upload is too large: a request may carry at most {size}. Nothing was "
            "saved. Split the file, or make it smaller, and try again.")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return error_response(400, "Form expired",
                              "The form was open too long or came from elsewhere. "
                              "Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code is None or error.code < 400:
            return error
        message = MESSAGES.get(error.code, error.description or error.name)
        if error.code == 413:
            message = _too_large(app)
        response = error_response(error.code, error.name, message)
        if error.code == 429 and getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("unhandled error on %s", request.path)
        db.session.rollback()
        try:
            return error_response(500, "Internal Server Error",
                                  "Something went wrong on our side. It has been logged.")
        except Exception:  # the error page itself failed: plain text, never a traceback
            return Response("Internal Server Error", status=500, mimetype="text/plain")

