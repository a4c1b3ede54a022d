"""Whether a rule's conditions hold for an event (pure: plain values in, a yes or no out)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CONDITION_FIELDS = ("customer_tag", "document_kind", "status_from", "status_to")


@dataclass(frozen=True)
class Facts:
    """What an event says, with what the database adds (the customer's tags)."""

    customer_tags: frozenset[str] = frozenset()
    document_kind: str = ""
    status_from: str = ""
    status_to: str = ""


def normal_tag(tag: str) -> str:
    """Tags compare without case or surrounding blanks ("Enrolment " is "enrolment")."""
    return tag.strip().casefold()


def split_tags(text: str | None) -> list[str]:
    """The tags of a comma-separated list, normalised, each once, in order."""
    seen: list[str] = []
    for part in (text or "").split(","):
        tag = normal_tag(part)
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def join_tags(tags: Iterable[str]) -> str:
    return ", ".join(split_tags(",".join(tags)))


def clean(conditions: Mapping[str, Any] | None) -> dict[str, str]:
    """The conditions that are set, as stored on a rule (blanks dropped, tags normalised)."""
    result = {}
    for name in CONDITION_FIELDS:
        value = str((conditions or {}).get(name) or "").strip()
        if value:
            result[name] = normal_tag(value) if name == "customer_tag" else value
    return result


def matches(conditions: Mapping[str, Any] | None, facts: Facts) -> bool:
    """True when every condition that is set holds for the facts (no conditions: always)."""
    wanted = clean(conditions)
    if "customer_tag" in wanted and wanted["customer_tag"] not in {
            normal_tag(tag) for tag in facts.customer_tags}:
        return False
    return all(wanted[name] == getattr(facts, name)
               for name in ("document_kind", "status_from", "status_to") if name in wanted)


def facts_of(data: Mapping[str, Any], customer_tags: Iterable[str] = ()) -> Facts:
    """The facts of an event's data (document events carry kind, from and to)."""
    return Facts(customer_tags=frozenset(customer_tags),
                 document_kind=str(data.get("kind") or ""),
                 status_from=str(data.get("from") or ""),
                 status_to=str(data.get("to") or ""))


def describe(conditions: Mapping[str, Any] | None) -> str:
    """The conditions in words, for the rule list."""
    wanted = clean(conditions)
    parts = []
    if "customer_tag" in wanted:
        parts.append(f"customer tagged “{wanted['customer_tag']}”")
    if "document_kind" in wanted:
        parts.append(f"document is a {wanted['document_kind'].replace('_', ' ')}")
    if "status_from" in wanted:
        parts.append(f"from {wanted['status_from'].replace('_', ' ')}")
    if "status_to" in wanted:
        parts.append(f"to {wanted['status_to'].replace('_', ' ')}")
    return ", ".join(parts) or "always"
