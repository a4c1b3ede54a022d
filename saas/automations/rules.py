"""State changes of rules and their actions: one function per change; callers commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from saas.automations import templating
from saas.automations.conditions import clean
from saas.automations.lines import LinesError, parse_lines
from saas.automations.models import (
    ActionKind,
    AutomationAction,
    AutomationRule,
    DocumentTemplate,
)
from saas.billing.documents.states import DocumentKind
from saas.events import EVENT_NAMES
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.services import ServiceError

CREATABLE_KINDS = (DocumentKind.PROFORMA, DocumentKind.INVOICE)


class RuleError(ServiceError):
    """A rule or action refused; ``field`` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _check_rule(values: dict[str, Any], rule: AutomationRule | None = None) -> str:
    name = (values.get("name") or "").strip()
    if not name:
        raise RuleError("Give the rule a name.", "name")
    other = db.session.scalar(select(AutomationRule).where(AutomationRule.name == name))
    if other is not None and other is not rule:
        raise RuleError(f"There is a rule named “{name}” already.", "name")
    if values.get("trigger") not in EVENT_NAMES:
        raise RuleError("Choose the event that sets the rule off.", "trigger")
    return name


def create_rule(values: dict[str, Any]) -> AutomationRule:
    """A new rule (without actions yet), last in the order."""
    name = _check_rule(values)
    last = db.session.scalar(select(func.max(AutomationRule.position))) or 0
    rule = AutomationRule(name=name, trigger=values["trigger"],
                          active=bool(values.get("active", True)),
                          conditions=clean(values.get("conditions")), position=last + 1)
    db.session.add(rule)
    db.session.flush()
    audit.record("automations.rule_created", rule, f"Automation rule {rule.name}")
    return rule


def update_rule(rule: AutomationRule, values: dict[str, Any]) -> None:
    """Change a rule's name, trigger, conditions and whether it is active."""
    rule.name = _check_rule(values, rule)
    rule.trigger, rule.active = values["trigger"], bool(values.get("active"))
    rule.conditions = clean(values.get("conditions"))
    audit.record("automations.rule_updated", rule, f"Automation rule {rule.name} changed")


def set_active(rule: AutomationRule, active: bool) -> None:
    rule.active = active
    audit.record("automations.rule_" + ("activated" if active else "paused"), rule,
                 f"Automation rule {rule.name} {'on' if active else 'off'}")


def delete_rule(rule: AutomationRule) -> None:
    """Delete a rule with its actions and runs; what the runs made stays."""
    audit.record("automations.rule_deleted", rule, f"Automation rule {rule.name} deleted")
    db.session.delete(rule)


def action_settings(kind: ActionKind, values: dict[str, Any]) -> dict[str, Any]:
    """The settings of an action of the kind from form values, checked."""
    if kind == ActionKind.CREATE_DOCUMENT:
        document_kind = values.get("document_kind") or DocumentKind.PROFORMA.value
        if document_kind not in {k.value for k in CREATABLE_KINDS}:
            raise RuleError("Choose a proforma or an invoice.", "document_kind")
        try:
            lines = parse_lines(values.get("lines") or "")
        except LinesError as exc:
            raise RuleError(str(exc), "lines") from None
        return {"kind": document_kind, "issue": bool(values.get("issue")),
                "lines": [line.as_settings() for line in lines]}
    if kind == ActionKind.GENERATE_FROM_TEMPLATE:
        template = db.session.get(DocumentTemplate, values.get("template_id") or 0)
        if template is None:
            raise RuleError("Choose a document template.", "template_id")
        return {"template_id": template.id}
    if kind == ActionKind.SEND_DOCUMENTS:
        return {"attach_generated": bool(values.get("attach_generated"))}
    if kind == ActionKind.SEND_EMAIL:
        subject, body = (values.get("subject") or "").strip(), values.get("body") or ""
        if not subject:
            raise RuleError("Give the e-mail a subject.", "subject")
        if not body.strip():
            raise RuleError("Write the e-mail's text.", "body")
        for field, text in (("subject", subject), ("body", body)):
            problem = templating.problems(text)
            if problem:
                raise RuleError(problem, field)
        return {"subject": subject, "body": body,
                "attach_generated": bool(values.get("attach_generated"))}
    return {}


def add_action(rule: AutomationRule, kind: ActionKind | str,
               values: dict[str, Any]) -> AutomationAction:
    """Add an action at the end of the rule."""
    kind = ActionKind(kind)
    action = AutomationAction(kind=kind, settings=action_settings(kind, values),
                              position=len(rule.actions) + 1)
    rule.actions.append(action)
    db.session.flush()
    audit.record("automations.action_added", rule, f"{rule.name}: {kind.label}")
    return action


def remove_action(action: AutomationAction) -> None:
    rule = action.rule
    rule.actions.remove(action)
    for position, other in enumerate(rule.actions, start=1):
        other.position = position
    audit.record("automations.action_removed", rule, f"{rule.name}: {action.kind.label}")


def move_action(action: AutomationAction, offset: int) -> None:
    """Move an action up (-1) or down (+1) among its rule's actions."""
    actions = list(action.rule.actions)
    index = actions.index(action)
    target = index + offset
    if not 0 <= target < len(actions):
        return
    actions[index], actions[target] = actions[target], actions[index]
    for position, other in enumerate(actions, start=1):
        other.position = position
