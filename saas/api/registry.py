"""Every API route declares its method, path, models and scope here, once.

``operation`` registers the view on the blueprint *and* records what the OpenAPI document
says about it, from the very models that parse the request and shape the response, so the
document cannot drift from what the API does. The wrapper it puts round each view:

- refuses writes with a read-only token (403 ``insufficient_scope``);
- parses the query and the JSON body with the declared models (``invalid_query`` 400,
  ``validation_failed`` 422, with each field at fault);
- turns a service's ValueError into 422 ``unprocessable`` (nothing is saved: the
  transaction is rolled back);
- answers a POST with an ``Idempotency-Key`` from the stored answer when it was made
  before (``saas.api.idempotency``);
- serialises the returned model and commits once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel, ValidationError

from saas.api import idempotency
from saas.api.errors import ApiError, field_errors
from saas.api.schemas import MAX_ID
from saas.extensions import db
from saas.tenants import audit


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str  # Flask's rule, below the blueprint's prefix
    endpoint: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    media_type: str = "application/json"  # anything else is a binary download
    public: bool = False

    @property
    def path(self) -> str:
        """The OpenAPI path: /customers/{customer_id}."""
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.rule)

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.rule)

    @property
    def writes(self) -> bool:
        return self.method != "GET"


OPERATIONS: list[Operation] = []
# The model each path argument names (filled by the resource modules): an id of another
# tenant, or of nothing, is 404 before the body is even read.
PATH_MODELS: dict[str, type] = {}


def operation(bp: Blueprint, method: str, rule: str, *, summary: str, tag: str,
              response: type[BaseModel] | None, body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, status: int = 200,
              media_type: str = "application/json", public: bool = False) -> Callable:
    """Register an API view and describe it for the OpenAPI document."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
        op = Operation(method=method, rule=rule, endpoint=f"{bp.name}.{view.__name__}",
                       summary=summary, tag=tag, body=body, query=query, response=response,
                       status=status, media_type=media_type, public=public)
        OPERATIONS.append(op)

        @wraps(view)
        def run(**path_values: Any) -> Response:
            for name, value in path_values.items():
                missing = isinstance(value, int) and not 1 <= value <= MAX_ID
                if not missing and name in PATH_MODELS:
                    found = db.session.get(PATH_MODELS[name], value)
                    # get() may answer from the identity map: check the tenant too.
                    missing = found is None or found.tenant_id != g.tenant.id
                if missing:
                    label = name.removesuffix("_id").replace("_", " ")
                    raise ApiError(404, "not_found", f"No such {label} in this company.")
            if op.writes and not g.api_token.may_write:
                raise ApiError(403, "insufficient_scope",
                               "This token may only read; use a read and write token.")
            arguments = dict(path_values)
            if query is not None:
                arguments["query"] = _parse_query(query)
            if body is not None:
                arguments["body"] = _parse_body(body)
            key = request.headers.get("Idempotency-Key") if method == "POST" else None
            if key is not None:
                return idempotency.run_once(key, lambda: _answer(op, view, arguments))
            response_body, response_status = _answer(op, view, arguments)
            db.session.commit()
            if isinstance(response_body, Response):
                return response_body
            return _json(response_body, response_status)

        bp.add_url_rule(rule, view.__name__, run, methods=[method])
        return run

    return decorate


def _answer(op: Operation, view: Callable[..., Any],
            arguments: dict[str, Any]) -> tuple[Any, int]:
    """Call the view; return its JSON-ready answer and status (or a ready Response)."""
    try:
        result = view(**arguments)
        db.session.flush()  # constraint failures are the view's, not the commit's
    except ApiError:
        db.session.rollback()
        raise
    except ValueError as exc:  # the services refuse with ValueError subclasses
        db.session.rollback()
        field_name = getattr(exc, "field", None)
        raise ApiError(422, "unprocessable", str(exc),
                       [{"field": str(field_name), "message": str(exc)}] if field_name
                       else []) from None
    if op.writes:
        _record_use(op, view, result)
    if isinstance(result, Response):
        return result, result.status_code
    if op.writes and isinstance(result, db.Model):
        # Answer with what was stored (numbers at their column's scale), not what was set.
        db.session.expire(result)
    if op.response is None:
        return {}, op.status
    return op.response.model_validate(result).model_dump(mode="json"), op.status


def _record_use(op: Operation, view: Callable[..., Any], result: Any) -> None:
    """Put the change in the audit log under the token that made it (the services' own
    entries have no user: an API request has none)."""
    token = g.api_token
    audit.record(f"api.{view.__name__}", result if isinstance(result, db.Model) else None,
                 f"{op.method} {request.path} by API token {token.name} ({token.prefix}…)",
                 {"token_id": token.id})


def _json(body: Any, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _parse_query(model: type[BaseModel]) -> BaseModel:
    values: dict[str, Any] = {}
    for name, items in request.args.lists():
        values[name] = items if len(items) > 1 else items[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(400, "invalid_query", "Some query parameters are not valid.",
                       field_errors(exc)) from None


def _parse_body(model: type[BaseModel]) -> BaseModel:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object with Content-Type"
                       " application/json.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", "Some fields are not valid.",
                       field_errors(exc)) from None
