"""The OpenAPI 3.1 document, built from the route registry and the pydantic models.

Request bodies and queries are described by the models that validate them, responses by
the models that serialise them: nothing here is written by hand twice.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from saas.api.registry import OPERATIONS, Operation
from saas.api.schemas import MAX_ID, ErrorBody

REF = "#/components/schemas/{model}"
ERROR_STATUSES = {
    400: "The request is malformed (JSON, query, cursor or idempotency key).",
    401: "No valid token.",
    403: "The token may not do this.",
    404: "No such object in this company.",
    409: "A request with the same idempotency key is still running.",
    422: "Validation failed, or the change was refused.",
    429: "Too many requests for this token; see Retry-After.",
}


def _schemas(operations: list[Operation]) -> tuple[dict, dict[str, Any]]:
    models: list[tuple[type[BaseModel], str]] = [(ErrorBody, "serialization")]
    for op in operations:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    unique = list(dict.fromkeys(models))
    refs, definitions = models_json_schema(unique, ref_template=REF)
    return refs, definitions.get("$defs", {})


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
        for name in op.path_parameters
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, property_schema in schema["properties"].items():
            property_schema = dict(property_schema)
            description = property_schema.pop("description", None)
            property_schema.pop("title", None)
            parameter = {"name": name, "in": "query", "required": name in required,
                         "schema": property_schema}
            if description:
                parameter["description"] = description
            parameters.append(parameter)
    if op.method == "POST":
        parameters.append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "Send the same key again to get the first answer, not a second"
                           " effect (kept 24 hours).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                       "pattern": "^[\\x21-\\x7e]+$"},
        })
    return parameters


def _responses(op: Operation, refs: dict) -> dict[str, Any]:
    if op.media_type != "application/json":
        success: dict[str, Any] = {"description": "The file.", "content": {
            op.media_type: {"schema": {"type": "string", "format": "binary"}}}}
    elif op.response is None:
        success = {"description": "Done."}
    else:
        success = {"description": "OK.", "content": {"application/json": {
            "schema": refs[(op.response, "serialization")]}}}
    responses: dict[str, Any] = {str(op.status): success}
    error = {"application/json": {"schema": refs[(ErrorBody, "serialization")]}}
    statuses = [404] if op.public else [400, 401, 403, 404, 409, 422, 429]
    for status in statuses:
        responses[str(status)] = {"description": ERROR_STATUSES[status], "content": error}
    return responses


def _operation(op: Operation, refs: dict) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": op.endpoint.removeprefix("api.").replace(".", "_"),
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": _responses(op, refs),
        "x-scope": "read_write" if op.writes else "read",
    }
    if op.public:
        document["security"] = []
    if op.body is not None:
        document["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": refs[(op.body, "validation")]}}}
    return document


@cache
def openapi_document(prefix: str = "/api/v1") -> dict[str, Any]:
    """The whole document (built once per process: the routes do not change)."""
    operations = list(OPERATIONS)
    refs, schemas = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(prefix + op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Fakturia API",
            "version": "1.0.0",
            "description": "Customers, catalog, documents, payments, billable work, contracts"
                           " and billing runs of one company. Authenticate with"
                           " `Authorization: Bearer <token>` (Settings → API tokens). Money"
                           " and quantities are decimal strings; lists page by cursor.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
