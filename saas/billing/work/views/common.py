"""What the work pages share: saving a form through a service, refusals on their fields."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm

from saas.billing.work.items import BillingError
from saas.extensions import db


def saved(form: FlaskForm, save: Callable[[], object], fallback: str) -> object | None:
    """Save and commit; a refusal goes on its field (or the fallback). The saved object."""
    try:
        result = save()
    except BillingError as exc:
        db.session.rollback()
        field = getattr(form, exc.field or fallback, None) or getattr(form, fallback)
        field.errors = [*field.errors, str(exc)]
        return None
    db.session.commit()
    return result if result is not None else True
