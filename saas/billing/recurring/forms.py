"""The form that sets up a recurring invoice."""

from __future__ import annotations

from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from saas.billing.catalog.forms import CatalogForm
from saas.billing.recurring.schedule import Ending, Unit
from saas.forms import IntegerField, choices, strip


class RecurringForm(CatalogForm):
    every = IntegerField("Repeat every", validators=[
        InputRequired(), NumberRange(min=1, max=366, message="Use 1 to 366.")])
    unit = SelectField("Unit", choices=choices((u.value, u.label) for u in Unit))
    start_date = DateField("First invoice on", validators=[InputRequired()])
    ending = SelectField("Ends", choices=choices((e.value, e.label) for e in Ending))
    until_date = DateField("Last date", validators=[Optional()])
    max_count = IntegerField("Number of invoices", validators=[
        Optional(), NumberRange(min=1, max=1000, message="Use 1 to 1,000.")])
    issue = BooleanField("Issue each invoice at once (else it waits as a draft)")
    send = BooleanField("E-mail it to the customer when issued")
    note = TextAreaField("Note (for staff)", filters=[strip], validators=[Length(max=2000)])
