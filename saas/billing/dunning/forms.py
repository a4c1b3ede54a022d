"""Forms of collection: settings, opening and assigning a case, contact notes, legal paths."""

from __future__ import annotations

from decimal import Decimal

from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from saas.billing.catalog.forms import (
    CatalogForm,
    DecimalText,
    id_field,
    max_decimals,
    money_field,
    text_field,
)
from saas.billing.dunning.models import Channel, Outcome, StageDocument
from saas.forms import IntegerField, choices, strip


class SettingsForm(CatalogForm):
    open_after_reminders = BooleanField(
        "Open a case when an invoice is unpaid after the last reminder level"
    )
    threshold = money_field(
        "Open a case when a customer's overdue amount is above (your currency; empty: never)",
        required=False,
    )
    interest_rate = DecimalText(
        "Interest on claims, % a year (when the reminder policy has none)",
        [
            InputRequired(),
            max_decimals(4),
            NumberRange(min=0, max=100, message="Use 0 to 100 (%% a year)."),
        ],
        min_places=2,
    )
    default_collector_id = id_field("Cases opened by the sweep go to")


class NoteForm(CatalogForm):
    channel = SelectField("Contact", choices=choices((c.value, c.label) for c in Channel))
    outcome = SelectField("Outcome", choices=choices((o.value, o.label) for o in Outcome))
    text = TextAreaField("Note", filters=[strip], validators=[Length(max=5000)])
    next_contact_on = DateField(
        "Contact next on",
        validators=[InputRequired(message="Say when to contact the customer next.")],
    )
    promise_amount = DecimalText(
        "Promised amount",
        [
            Optional(),
            max_decimals(4),
            NumberRange(
                min=Decimal("0.01"), message=("The promised amount must be more than zero.")
            ),
        ],
        min_places=2,
    )
    promise_on = DateField("Promised by", validators=[Optional()])


class AssignForm(CatalogForm):
    collector_id = id_field("Collector")


class CloseForm(CatalogForm):
    reason = TextAreaField(
        "Why the case is closed",
        filters=[strip],
        validators=[DataRequired(message="Say why the case is closed."), Length(max=2000)],
    )


class PathForm(CatalogForm):
    name = text_field("Name", 100)
    customer_category_id = id_field("For customers of the category")


class StageForm(CatalogForm):
    name = text_field("Stage", 100)
    document = SelectField("Document", choices=choices((d.value, d.label) for d in StageDocument))
    template = TextAreaField(
        "Opening paragraph of the document (empty: the built-in one)",
        filters=[strip],
        validators=[Length(max=5000)],
    )
    fee = money_field("Fee it adds to the claim (your currency)", required=False)
    days_to_pay = IntegerField(
        "Days the document gives to pay",
        default=14,
        validators=[InputRequired(), NumberRange(min=0, max=365, message="Use 0 to 365 days.")],
    )


class MoveForm(CatalogForm):
    stage_id = id_field("Move to", "Choose a stage.")
