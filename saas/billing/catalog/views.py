"""Pages of billing.catalog (being built)."""

from __future__ import annotations

from saas.tenants.access import staff_blueprint

bp = staff_blueprint("catalog", __name__)
