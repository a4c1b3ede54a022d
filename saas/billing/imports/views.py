"""Pages of billing.imports (being built)."""

from __future__ import annotations

from saas.tenants.access import staff_blueprint

bp = staff_blueprint("imports", __name__)
