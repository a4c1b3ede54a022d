"""Demo: last month's accountant export, finished and ready to download."""

from __future__ import annotations

from sqlalchemy import select

from saas.billing.exports import services
from saas.billing.exports.models import AccountantExport
from saas.billing.exports.periods import last_month
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.access import tenant_today_of
from saas.tenants.models import Tenant


def seed_exports(tenant: Tenant) -> None:
    """Once per tenant: last month's export, built here (no worker needed)."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(AccountantExport.id).limit(1)):
            return
        date_from, date_to = last_month(tenant_today_of(tenant.id))
        export = services.request_export(date_from, date_to, queued=False)
        db.session.commit()
        services.build(export.id)
