"""The document pages: lists, the editor, issuing, the chain, the quote/order report."""

from __future__ import annotations

from saas.tenants.access import staff_blueprint

bp = staff_blueprint("documents", __name__, "/documents")

from saas.billing.documents.views import (  # noqa: E402, F401
    actions,
    einvoice,
    pages,
    references,
    reports,
)
from saas.billing.documents.views.common import quantity  # noqa: E402

bp.add_app_template_filter(quantity, "quantity")
