"""Pages of billing.customers (being built)."""

from __future__ import annotations

from saas.tenants.access import staff_blueprint

bp = staff_blueprint("customers", __name__)
