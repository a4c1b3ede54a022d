"""Command-line tools: `flask demo seed`, `flask db-roles`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from saas.automations.cli import automations
from saas.billing.contracts.cli import contracts
from saas.billing.documents.cli import documents
from saas.billing.dunning.cli import collection
from saas.billing.payments.bank.cli import bank
from saas.billing.payments.cli import payments
from saas.billing.recurring.cli import recurring
from saas.billing.reminders.cli import reminders
from saas.billing.reports.cli import reports
from saas.events.cli import events
from saas.extensions import db
from saas.outsourced_service.cli import bureau
from saas.portal.cli import portal

demo = AppGroup("demo", help="Demo data.")


@demo.command("seed")
def seed_command() -> None:
    """Create the demo companies and users (again: only what is missing)."""
    from saas.demo import DEMO_PASSWORD, NORDLYS, seed
    from saas.portal.demo import DEMO_LINK_LIFETIME, demo_sign_in

    logins = seed()
    portal = demo_sign_in(NORDLYS.slug)
    db.session.commit()
    click.echo("\nDemo data is ready. Sign in at http://127.0.0.1:5000/login with:")
    width = max(len(email) for _, email, _ in logins)
    for company, email, role in logins:
        click.echo(f"  {email:<{width}}  {role:<10}  {company}")
    click.echo(f"  password for all: {DEMO_PASSWORD}\n")
    if portal is not None:
        hours = int(DEMO_LINK_LIFETIME.total_seconds() // 3600)
        click.echo(f"The customer portal of {portal.tenant}, as {portal.contact} of"
                   f" {portal.customer} (one sign-in, within {hours} hours):")
        click.echo(f"  {portal.url}\n")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(documents)
    app.cli.add_command(reminders)
    app.cli.add_command(recurring)
    app.cli.add_command(contracts)
    app.cli.add_command(payments)
    app.cli.add_command(bank)
    app.cli.add_command(portal)
    app.cli.add_command(collection)
    app.cli.add_command(reports)
    app.cli.add_command(bureau)
    app.cli.add_command(events)
    app.cli.add_command(automations)
