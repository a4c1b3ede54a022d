"""The accountant export's period form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import InputRequired


class ExportForm(FlaskForm):
    date_from = DateField("From", validators=[InputRequired("Give the period's first day.")])
    date_to = DateField("To", validators=[InputRequired("Give the period's last day.")])
