"""A value another request saved a moment earlier: the unique constraint's refusal as a
field error, like the service's own check would have given.

Services check that a SKU or a code is free before saving it, but two requests can both
pass that check; the second one's insert (or commit) then breaks the unique constraint.
That is the user's mistake, not the server's: roll back and show it on the field (422).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from flask_wtf import FlaskForm
from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError

from saas.extensions import db

T = TypeVar("T")

# What to show when a constraint refuses a value: the form field and the message, or a
# function that makes the message (called after the rollback, so it may query).
Duplicate = tuple[str, str | Callable[[], str]]

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE
SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\w+\.\w+(?:, \w+\.\w+)*)")


def commit_or_field_error(
    form: FlaskForm,
    duplicates: Mapping[str, Duplicate],
    change: Callable[[], T] | None = None,
) -> tuple[bool, T | None]:
    """Make the change (if given) and commit: (True, its result).

    When a unique constraint named in duplicates refuses the change, at a flush inside the
    change or at the commit, roll back and put its message on its field: (False, None).
    Any other integrity error is raised, after the rollback.
    """
    try:
        result = change() if change is not None else None
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        duplicate = duplicates.get(violated_unique_constraint(exc) or "")
        if duplicate is None:
            raise
        field_name, message = duplicate
        add_error(form, field_name, message() if callable(message) else message)
        return False, None
    return True, result


def violated_unique_constraint(error: IntegrityError) -> str | None:
    """The name of the unique constraint that refused a statement, if that was the cause."""
    diag = getattr(error.orig, "diag", None)  # psycopg
    if diag is not None:
        if getattr(error.orig, "sqlstate", None) != UNIQUE_VIOLATION:
            return None
        return diag.constraint_name
    # SQLite names the columns only: "UNIQUE constraint failed: products.tenant_id, ...".
    match = SQLITE_UNIQUE.search(str(error.orig))
    if match is None:
        return None
    pairs = [item.split(".") for item in match.group(1).split(", ")]
    table = db.metadata.tables.get(pairs[0][0])
    columns = [column for _, column in pairs]
    for constraint in table.constraints if table is not None else ():
        if isinstance(constraint, UniqueConstraint) and constraint.columns.keys() == columns:
            return str(constraint.name)
    return None


def add_error(form: FlaskForm, field_name: str, message: str) -> None:
    """Show message as the error of the named field (or of the whole form, without one)."""
    field = form._fields.get(field_name)
    if field is None:
        form.form_errors.append(message)
    else:
        field.errors = [*field.errors, message]
