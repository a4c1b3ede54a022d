"""`flask secrets generate-key` and `flask secrets rotate` (see README, "Encryption keys").

Rotating: put a new key in front of ENCRYPTION_KEYS, run ``rotate`` (every stored secret
is re-encrypted with it, in one transaction), then remove the old key.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from saas import encryption
from saas.cli_args import tenants_of
from saas.extensions import db

secrets = AppGroup("secrets", help="Secrets stored encrypted: keys and rotation.")


@secrets.command("generate-key")
def generate_key_command() -> None:
    """Print a new encryption key (put it first in ENCRYPTION_KEYS)."""
    click.echo(encryption.generate_key())


@secrets.command("rotate")
def rotate_command() -> None:
    """Re-encrypt every stored secret with the first key of ENCRYPTION_KEYS."""
    try:
        keys = encryption.configured_keys()
    except encryption.KeysMisconfigured as exc:
        raise click.ClickException(str(exc)) from None
    tenants = tenants_of(None)
    with click.progressbar(length=len(tenants), label="Re-encrypting secrets") as bar:
        result = encryption.rotate_all(tenants, progress=lambda tenant: bar.update(1))
    if result.unreadable:
        db.session.rollback()
        click.echo(f"{len(result.unreadable)} stored secret"
                   f"{'s' if len(result.unreadable) != 1 else ''} cannot be decrypted with any"
                   f" of the {len(keys)} configured key{'s' if len(keys) != 1 else ''}:", err=True)
        for where in result.unreadable:
            click.echo(f"  {where}", err=True)
        raise click.ClickException(
            "Nothing was changed. Add the key these were encrypted with to ENCRYPTION_KEYS"
            " (after the new one) and run rotate again.")
    db.session.commit()
    click.echo(f"Re-encrypted {result.rotated} secret{'s' if result.rotated != 1 else ''}"
               f" in {len(tenants)} tenant{'s' if len(tenants) != 1 else ''} with the newest key."
               " Old keys can now be removed from ENCRYPTION_KEYS.")
