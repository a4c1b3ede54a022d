"""The collection pages: cases and their notes, the collector's work, setup, reports."""

from __future__ import annotations

from saas.tenants.access import MANAGERS, staff_blueprint
from saas.tenants.models import Role

bp = staff_blueprint("collection", __name__, "/collection")

# Who works cases (opens, notes, assigns, moves, closes); managers set collection up.
COLLECTORS = MANAGERS | {Role.COLLECTOR, Role.STAFF, Role.ACCOUNTANT}

from saas.billing.dunning.views import cases, reports, setup  # noqa: E402, F401
