"""The payments settings page's forms. The shapes of keys and ids are checked once, in
``stripe_keys`` (through ``stripe_connections``); the view puts a refusal on its field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from saas.forms import strip


class OwnKeysForm(FlaskForm):
    # Password fields: a pasted secret is never sent back to the browser, not even on error.
    # Not the browser's to fill in or remember ("new-password": not a sign-in).
    secret_key = PasswordField(
        "Secret key", filters=[strip], render_kw={"autocomplete": "new-password"}
    )
    webhook_secret = PasswordField(
        "Webhook signing secret", filters=[strip], render_kw={"autocomplete": "new-password"}
    )


class ConnectForm(FlaskForm):
    account_id = StringField("Connected account id", filters=[strip])
