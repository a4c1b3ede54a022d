"""Forms of automations: rules, actions, document templates, generating by hand."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from saas.automations.models import ActionKind, DocumentTemplate, TemplateKind
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.events import EVENT_NAMES
from saas.extensions import db
from saas.forms import choices, strip

ANY = ("", "—")


def _template_choices() -> list[SelectChoice]:
    return choices((str(t.id), f"{t.name} ({t.kind.label.lower()})") for t in db.session.scalars(
        select(DocumentTemplate).order_by(DocumentTemplate.name)))


class RuleForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=[DataRequired(), Length(max=200)])
    trigger = SelectField("When", choices=choices((name, f"{name}: {text}")
                                                  for name, text in EVENT_NAMES.items()))
    active = BooleanField("Active", default=True)
    customer_tag = StringField("and the customer has the tag", filters=[strip],
                               validators=[Optional(), Length(max=60)])
    document_kind = SelectField("and the document is a", choices=choices(
        [ANY, *((kind.value, kind.label) for kind in DocumentKind)]))
    status_from = SelectField("moving from", choices=choices(
        [ANY, *((status.value, status.label) for status in DocumentStatus)]))
    status_to = SelectField("to", choices=choices(
        [ANY, *((status.value, status.label) for status in DocumentStatus)]))

    def values(self) -> dict[str, Any]:
        return {"name": self.name.data, "trigger": self.trigger.data,
                "active": self.active.data,
                "conditions": {"customer_tag": self.customer_tag.data,
                               "document_kind": self.document_kind.data,
                               "status_from": self.status_from.data,
                               "status_to": self.status_to.data}}


class ActionForm(FlaskForm):
    kind = SelectField("Action", choices=choices((kind.value, kind.label)
                                                 for kind in ActionKind))
    document_kind = SelectField("Make a", choices=choices([
        (DocumentKind.PROFORMA.value, DocumentKind.PROFORMA.label),
        (DocumentKind.INVOICE.value, DocumentKind.INVOICE.label)]),
        validate_choice=False)  # checked by rules.action_settings, for that action only
    lines = TextAreaField("Lines", validators=[Length(max=5000)],
                          render_kw={"rows": 3,
                                     "placeholder": "1; Accounting course; 1500; S25"})
    issue = BooleanField("Issue it at once", default=True)
    template_id = SelectField("Template", choices=[], validate_choice=False)
    attach_generated = BooleanField("Attach the documents generated from templates",
                                    default=True)
    subject = StringField("Subject", filters=[strip], validators=[Length(max=300)])
    body = TextAreaField("Text", validators=[Length(max=20000)], render_kw={"rows": 6})

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.template_id.choices = [SelectChoice(*ANY), *_template_choices()]

    def values(self) -> dict[str, Any]:
        return {"document_kind": self.document_kind.data, "lines": self.lines.data or "",
                "issue": self.issue.data, "attach_generated": self.attach_generated.data,
                "template_id": int(self.template_id.data) if self.template_id.data else None,
                "subject": self.subject.data, "body": self.body.data}


class TemplateForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=[DataRequired(), Length(max=200)])
    kind = SelectField("Kind", choices=choices((kind.value, kind.label)
                                               for kind in TemplateKind))
    title = StringField("Title", filters=[strip], validators=[DataRequired(), Length(max=300)])
    body = TextAreaField("Text", validators=[DataRequired(), Length(max=50000)],
                         render_kw={"rows": 18})

    def values(self) -> dict[str, Any]:
        return {"name": self.name.data, "kind": self.kind.data, "title": self.title.data,
                "body": self.body.data}


class GenerateForm(FlaskForm):
    template_id = SelectField("Template", choices=[], validate_choice=False,
                              validators=[DataRequired(message="Choose a template.")])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.template_id.choices = _template_choices()
