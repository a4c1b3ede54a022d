"""What the periodic commands share: a --date and a --tenant option, checked."""

from __future__ import annotations

from datetime import date

import click
from sqlalchemy import select

from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

day_option = click.option("--date", "day", metavar="YYYY-MM-DD", default=None,
                          help="Run as on this day (default: each tenant's own today).")
tenant_option = click.option("--tenant", "slug", metavar="SLUG", default=None,
                             help="Only this tenant (default: every tenant).")


def day_and_tenants(day: str | None, slug: str | None) -> tuple[date | None, list[int] | None]:
    """The --date as a date and the --tenant as a list of ids; a usage error if unknown."""
    try:
        on = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date like 2026-11-30.",
                                 param_hint="--date") from None
    if not slug:
        return on, None
    with scoping.all_tenants():
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    if tenant_id is None:
        raise click.BadParameter(f"No tenant is called {slug!r}.", param_hint="--tenant")
    return on, [tenant_id]


def tenants_of(slug: str | None) -> list[tuple[int, str]]:
    """(id, slug) of every tenant, or of the --tenant one; a usage error if unknown."""
    statement = select(Tenant.id, Tenant.slug).order_by(Tenant.id)
    if slug is not None:
        statement = statement.where(Tenant.slug == slug)
    tenants = [tuple(row) for row in db.session.execute(statement)]  # tenants are global
    if slug is not None and not tenants:
        raise click.BadParameter(f"no tenant has the slug {slug!r}", param_hint="--tenant")
    return tenants
