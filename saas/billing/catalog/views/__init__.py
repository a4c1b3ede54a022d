"""Catalog pages: products, VAT rates, categories, price lists, price rules, exchange rates."""

from __future__ import annotations

from saas.tenants.access import staff_blueprint

bp = staff_blueprint("catalog", __name__)

from saas.billing.catalog.views import prices, products, rates  # noqa: E402, F401
from saas.billing.catalog.views.common import money  # noqa: E402

bp.add_app_template_filter(money, "money")
