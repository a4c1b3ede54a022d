"""The endpoint form. URLs and events are checked once, in ``services`` (checked_url,
checked_events); the view puts a refusal on its field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from saas.events import EVENT_NAMES
from saas.forms import choices, strip


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: FlaskForm) -> None:
        # Unknown names are refused by the service with a message of its own.
        pass


class EndpointForm(FlaskForm):
    url = StringField("URL", filters=[strip],
                      render_kw={"placeholder": "https://example.com/webhooks/fakturia",
                                 "inputmode": "url"})
    description = StringField("Description", filters=[strip])
    events = CheckboxesField("Events to send",
                             choices=choices((name, f"{name} – {text}")
                                             for name, text in EVENT_NAMES.items()))
    active = BooleanField("Active: send events to this endpoint", default=True)
