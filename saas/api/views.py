"""JSON API v1 (issue 12, R7.4): the blueprint, token sign-in, rate limits, the document.

A request carries ``Authorization: Bearer fkt_<tenant>_<secret>``; the token names its
tenant, which the request then works in as a job does (``scoping.set_current_tenant``,
which also sets ``app.tenant_id`` for row-level security in the open transaction). Each
token has its own rate limit (``API_RATE_LIMIT``).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, g, request
from flask_limiter.util import get_remote_address
from pydantic import ConfigDict
from werkzeug.wrappers import Response

from saas import clock
from saas.api import tokens
from saas.api.errors import ApiError, error_response
from saas.api.openapi import openapi_document
from saas.api.registry import operation
from saas.api.schemas import ResponseModel
from saas.extensions import db, limiter
from saas.tenants import scoping
from saas.tenants.models import Tenant

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = frozenset({"api.index", "api.openapi"})
# last_used_at is written at most this often, not on every request.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", "600/minute")


def _rate_limit_key() -> str:
    # The limiter runs before the token is checked: key by a hash of the token text, so each
    # token (and each wrong guess) has its own allowance.
    header = request.headers.get("Authorization", "")
    if not header:  # the public document and index: by address, like any page
        return f"api-anonymous:{get_remote_address()}"
    return "api:" + hashlib.sha256(header.encode()).hexdigest()[:32]


limiter.limit(_rate_limit, key_func=_rate_limit_key)(bp)


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> Response:
    return error_response(error)


@bp.before_request
def authenticate() -> None:
    """Find the token, enter its tenant; 401 when there is none."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, text = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
    if scheme.lower() != "bearer" or not text.strip():
        raise ApiError(401, "unauthorized", "Send Authorization: Bearer <token>.",
                       headers=challenge)
    text = text.strip()
    try:
        tenant_id = tokens.tenant_of(text)
        tenant = db.session.get(Tenant, tenant_id)
        if tenant is None:
            raise tokens.TokenRefused("The token is not valid.")
        scoping.set_current_tenant(tenant.id)
        token = tokens.find_live_token(text)
    except tokens.TokenRefused as exc:
        scoping.set_current_tenant(None)
        raise ApiError(401, "unauthorized", str(exc), headers=challenge) from None
    g.tenant, g.api_token = tenant, token
    now = clock.now()
    last = token.last_used_at
    if last is None or _aware(last) < now - LAST_USED_GRANULARITY:
        token.last_used_at = now


def _aware(moment: Any) -> Any:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ApiInfo(ResponseModel):
    api: str
    version: str
    openapi: str


@operation(bp, "GET", "/", summary="What this API is", tag="meta", response=ApiInfo,
           public=True)
def index() -> dict[str, str]:
    return {"api": "saas", "version": "v1", "openapi": "/api/v1/openapi.json"}


class OpenApiDocument(ResponseModel):
    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


@operation(bp, "GET", "/openapi.json", summary="This document (OpenAPI 3.1)", tag="meta",
           response=OpenApiDocument, public=True)
def openapi() -> dict[str, Any]:
    return openapi_document(bp.url_prefix or "")


# The resources register their routes on bp when imported.
from saas.api import catalog, contracts, customers, documents, payments, work  # noqa: E402, F401
