"""Property tests of every form (issue 13): whatever is typed in, a form answers with its
data or with errors on its fields, never with an exception; a number it accepts is a
finite decimal or an integer a database column holds; and a NUL character, which no
column can hold, is refused for every request before any view sees it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import Field, FieldList, FormField, SelectFieldBase

import saas
from saas.extensions import db
from saas.tenants import scoping
from tests.factories import TenantFactory, member
from tests.integration.test_customers import form_data

# What people (and probes) type: numbers in every spelling, dates that are not, text
# that is long, empty, odd or hostile.
EDGES = ["", " ", "0", "-0", "-1", "1", "1.5", "1,5", "1 250.50", "0.000000001",
         "99999999999999999999", "-99999999999999999999", "9" * 400, "1e5", "1E+999999",
         "NaN", "-nan", "sNaN", "Infinity", "-Infinity", "inf", "0x10", "½", "٣",
         "2026-02-30", "0000-00-00", "9999-12-31", "31.12.2026", "2026-13-01",
         "<script>alert(1)</script>", "' OR 1=1 --", "{{ 7*7 }}", "{period}", "%s%n",
         "a" * 5000, "ünïcødé ✓ 日本", "\u202eevil", "true", "on", "none", "None"]
VALUES = st.one_of(st.sampled_from(EDGES), st.text(max_size=40),
                   st.decimals(allow_nan=True, allow_infinity=True).map(str),
                   st.integers().map(str), st.dates().map(date.isoformat))
BIGINT = 2**63 - 1
FUZZ = settings(max_examples=10, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _all_forms() -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(saas.__path__, "saas."):
        if module.name.endswith(("forms", "views")) or ".forms" in module.name:
            importlib.import_module(module.name)
    found, todo = set(), list(FlaskForm.__subclasses__())
    while todo:
        form = todo.pop()
        if form.__module__.startswith("saas.") and form not in found:
            found.add(form)
            todo.extend(form.__subclasses__())
    return sorted(found, key=lambda form: f"{form.__module__}.{form.__qualname__}")


FORMS = _all_forms()


def test_the_forms_are_found():
    names = {form.__name__ for form in FORMS}
    assert len(FORMS) > 50 and {"CustomerForm", "PriceCheckForm"} <= names


def _leaves(form: FlaskForm) -> list[Field]:
    fields = []
    for field in form:
        if isinstance(field, FormField):
            fields.extend(_leaves(field.form))
        elif isinstance(field, FieldList):
            for entry in field.entries:
                fields.extend(_leaves(entry.form) if isinstance(entry, FormField) else [entry])
        else:
            fields.append(field)
    return fields


def _accepted_values_are_sound(form: FlaskForm) -> None:
    for field in _leaves(form):
        value = field.data
        if isinstance(value, Decimal):
            assert value.is_finite(), (type(form).__name__, field.name, value)
        if isinstance(value, int) and not isinstance(value, bool):
            assert -BIGINT <= value <= BIGINT, (type(form).__name__, field.name, value)


@pytest.fixture()
def tenant_id(db_session) -> int:
    tenant = TenantFactory()
    member(tenant)
    return tenant.id


@contextmanager
def _rolled_back() -> Iterator[None]:
    """One example's queries in a savepoint of their own: a refused one spoils no other."""
    savepoint = db.session.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


@pytest.mark.parametrize("form_class", FORMS, ids=lambda form: form.__name__)
@FUZZ
@given(data=st.data())
def test_any_input_gives_the_form_data_or_field_errors(app, tenant_id, form_class, data):
    """In a request of a tenant, as the views build their forms."""
    with (app.test_request_context(method="POST"), scoping.tenant_context(tenant_id),
          _rolled_back()):
        names = [field.name for field in _leaves(form_class(formdata=None))]
        typed = MultiDict({name: data.draw(VALUES, label=name) for name in names})
        form = form_class(formdata=typed)
        for field in _leaves(form):  # choices a view sets from the database: none here
            if isinstance(field, SelectFieldBase) and getattr(field, "choices", ()) is None:
                field.choices = []
        valid = form.validate()
        if valid:
            _accepted_values_are_sound(form)
        else:
            assert form.errors, form_class.__name__


@pytest.mark.parametrize("field", ["name", "notes", "city"])
def test_a_nul_character_is_refused_before_any_view_and_nothing_is_saved(
        db_session, make_client, field):
    from sqlalchemy import func, select

    from saas.billing.customers.models import Customer
    from saas.extensions import db
    from saas.tenants import scoping

    tenant = TenantFactory()
    client = make_client(member(tenant))
    response = client.post(f"/t/{tenant.slug}/customers/new",
                           data=form_data(**{field: "Fjell\x00heim"}))
    assert response.status_code == 400
    assert f"“{field}” contains a NUL character (0x00)" in response.text
    with scoping.tenant_context(tenant.id):
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0
    assert client.get(f"/t/{tenant.slug}/customers/?q=a%00b").status_code == 400


def test_a_discount_of_nan_is_a_field_error_not_a_crash(db_session, make_client):
    tenant = TenantFactory()
    client = make_client(member(tenant))
    for typed in ("NaN", "Infinity", "1e3"):
        response = client.post(f"/t/{tenant.slug}/customers/new",
                               data=form_data(discount_percent=typed))
        assert response.status_code == 422, typed
        assert "Not a number." in response.text
