"""`flask automations install-enrolment`: the course enrolment rule set of seed 004."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

import click
from flask.cli import AppGroup

from saas.automations.enrolment import install_course_enrolment
from saas.automations.runs import sweep_runs
from saas.cli_args import tenants_of
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.services import ServiceError

automations = AppGroup("automations", help="Automation rules and document templates.")


@automations.command("install-enrolment")
@click.option("--tenant", "slug", metavar="SLUG", required=True, help="The company.")
@click.option("--course", default="Professional qualification course",
              help="The course line's text.")
@click.option("--price", default="1500.00", help="The course's price, without VAT.")
@click.option("--vat-code", default=None, help="The VAT code (default: the highest rate).")
def install_enrolment(slug: str, course: str, price: str, vat_code: str | None) -> None:
    """Install the course enrolment rules and the "Course contract" template."""
    try:
        amount = Decimal(price)
    except InvalidOperation:
        raise click.BadParameter(f"{price!r} is not an amount.", param_hint="--price") from None
    [(tenant_id, _)] = tenants_of(slug)
    with scoping.tenant_context(tenant_id):
        try:
            found = install_course_enrolment(course=course, price=amount, vat_code=vat_code)
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from None
        db.session.commit()
    click.echo(f"{slug}: rules {', '.join(rule.name for rule in found)} are in place.")


@automations.command("sweep")
def sweep_command() -> None:
    """Ask again for the jobs of runs left waiting (the scheduler does it every 10 minutes)."""
    asked = sweep_runs(older_than=timedelta(0))
    click.echo(f"Automations: {sum(asked.values())} runs asked for again in {len(asked)}"
               " companies.")
