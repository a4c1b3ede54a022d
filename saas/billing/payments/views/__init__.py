"""The payment pages: the list, a payment, recording and settling, undoing, statements."""

from __future__ import annotations

from saas.tenants.access import staff_blueprint

bp = staff_blueprint("payments", __name__, "/payments")

from saas.billing.payments.views import actions, pages, statement  # noqa: E402, F401
