"""The rules of collection work (pure: no Flask, no database).

- A **promise** to pay (an amount by a date, made in a contact note) is *kept* once the
  customer has paid at least that much since the note; *broken* when its date has passed
  (the day after it) and they have not; *pending* until then.
- A collector's **to-do** for a case: the next contact is *due* on its day and *overdue*
  after it; a broken promise of the case's latest note is a to-do of its own until a new
  note follows it up.
- A case **opens by itself** when the reminder policy is exhausted for one of the
  customer's invoices, or when the overdue amount is above the tenant's threshold.
- **Legal stages** are taken in order: a case enters its path at the first stage, moves on
  one stage at a time (no skipping), and may step back one stage (a correction).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


class PromiseState(enum.StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"

    @property
    def label(self) -> str:
        return {"pending": "Promise pending", "kept": "Promise kept", "broken": "Promise broken"}[
            self.value
        ]


def promise_state(
    amount: Decimal, promised_on: date, paid_since: Decimal, today: date
) -> PromiseState:
    """Whether a promise to pay ``amount`` by ``promised_on`` is kept, broken or pending,
    given what the customer paid since the note that recorded it."""
    if paid_since >= amount:
        return PromiseState.KEPT
    if today > promised_on:
        return PromiseState.BROKEN
    return PromiseState.PENDING


class TodoKind(enum.StrEnum):
    CONTACT = "contact"
    BROKEN_PROMISE = "broken_promise"

    @property
    def label(self) -> str:
        return {"contact": "Contact due", "broken_promise": "Broken promise"}[self.value]


@dataclass(frozen=True)
class Todo:
    kind: TodoKind
    due_on: date
    days_late: int  # 0: due today

    @property
    def overdue(self) -> bool:
        return self.days_late > 0


def todos_of_case(
    next_contact_on: date | None,
    promise: PromiseState | None,
    promised_on: date | None,
    today: date,
) -> list[Todo]:
    """What a collector must do today for one open case (nothing when nothing is due).

    ``promise`` is the state of the promise in the case's latest note, if it made one.
    """
    found = []
    if promise == PromiseState.BROKEN and promised_on is not None:
        found.append(Todo(TodoKind.BROKEN_PROMISE, promised_on, (today - promised_on).days))
    if next_contact_on is not None and next_contact_on <= today:
        found.append(Todo(TodoKind.CONTACT, next_contact_on, (today - next_contact_on).days))
    return found


def opening_reason(
    *, reminders_exhausted: bool, overdue: Decimal, threshold: Decimal | None
) -> str | None:
    """Why a case opens by itself for a customer, or None. ``overdue`` and ``threshold``
    in the tenant's currency; exhausted reminders come first."""
    if reminders_exhausted:
        return "reminders"
    if threshold is not None and overdue > threshold:
        return "threshold"
    return None


class MoveRefused(ValueError):
    """A move between legal stages that the order does not allow."""


def check_stage_move(positions: Sequence[int], current: int | None, target: int) -> None:
    """Refuse a move from the stage at ``current`` (None: not on the path yet) to ``target``.

    ``positions`` are the path's stages in order. Allowed: the first stage from outside the
    path, the next stage, or the stage before (a correction).
    """
    ordered = sorted(positions)
    if target not in ordered:
        raise MoveRefused("That stage is not on the case's legal path.")
    if current is None:
        if target != ordered[0]:
            raise MoveRefused("A case enters its legal path at the first stage.")
        return
    if current not in ordered:
        raise MoveRefused("The case's stage is no longer on its path.")
    here, there = ordered.index(current), ordered.index(target)
    if there == here:
        raise MoveRefused("The case is at that stage already.")
    if there > here + 1:
        raise MoveRefused("Stages are taken in order: move to the next stage first.")
    if there < here - 1:
        raise MoveRefused("A case steps back one stage at a time.")
