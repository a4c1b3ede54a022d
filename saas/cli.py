"""Command-line tools: `flask demo seed`, `flask db-roles`, and each domain's group."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from saas.api.webhooks.cli import webhooks
from saas.automations.cli import automations
from saas.billing.contracts.cli import contracts
from saas.billing.documents.cli import documents
from saas.billing.dunning.cli import collection
from saas.billing.exports.cli import exports
from saas.billing.payments.bank.cli import bank
from saas.billing.payments.cli import payments
from saas.billing.recurring.cli import recurring
from saas.billing.reminders.cli import reminders
from saas.billing.reports.cli import reports
from saas.encryption_cli import secrets
from saas.events.cli import events
from saas.extensions import db
from saas.outsourced_service.cli import bureau
from saas.portal.cli import portal

demo = AppGroup("demo", help="Demo data.")
jobs = AppGroup("jobs", help="Background jobs.")


@jobs.command("send-deferred")
def send_deferred_command() -> None:
    """Send the jobs kept in the database while Redis was away (web and worker do it too)."""
    from flask import current_app

    from saas.deferred_jobs import send_deferred, waiting

    sent = send_deferred(current_app._get_current_object())
    click.echo(f"Sent {sent} deferred job{'s' if sent != 1 else ''}; {waiting()} still waiting.")


@demo.command("seed")
def seed_command() -> None:
    """Create the demo companies and users (again: only what is missing)."""
    from saas.api.demo import demo_api_token
    from saas.demo import DEMO_PASSWORD, NORDLYS, seed
    from saas.portal.demo import DEMO_LINK_LIFETIME, demo_sign_in

    logins = seed()
    portal = demo_sign_in(NORDLYS.slug)
    api_token = demo_api_token(NORDLYS.slug)
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
    if api_token is not None:
        click.echo(f"The JSON API of {NORDLYS.name} (a read and write token, shown once;"
                   " Settings → API tokens):")
        click.echo(f'  curl -H "Authorization: Bearer {api_token}"'
                   " http://127.0.0.1:5000/api/v1/customers\n")


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
    app.cli.add_command(jobs)
    app.cli.add_command(exports)
    app.cli.add_command(webhooks)
    app.cli.add_command(automations)
    app.cli.add_command(secrets)
