"""JSON API v1 (grows with issue 12); errors under /api are JSON too."""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/")
def index() -> Response:
    return jsonify({"api": "saas", "version": "v1"})
