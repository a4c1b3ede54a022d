"""Automation pages: rules, actions, the run log, document templates, the customer's
generated documents; for managers, and the panel on the customer page for staff."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from saas.automations.enrolment import ENROLMENT_RULE, install_course_enrolment
from saas.automations.models import (
    ActionKind,
    AutomationRule,
    DocumentTemplate,
    GeneratedDocument,
)
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member
from tests.factories_automations import AutomationRunFactory
from tests.helpers import errors_in


@pytest.fixture()
def school(db_session):
    tenant = TenantFactory(name="Diana Cursuri SRL")
    with scoping.tenant_context(tenant.id):
        VatRateFactory(tenant=tenant, code="S25")
        install_course_enrolment(vat_code="S25")
        db.session.commit()
    return tenant


def url(tenant, path: str) -> str:
    return f"/t/{tenant.slug}/automations{path}"


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.OWNER, True), (Role.ADMIN, True), (Role.ACCOUNTANT, False), (Role.STAFF, False)])
def test_automation_pages_are_for_managers(school, make_client, role, allowed):
    client = make_client(member(school, role))
    for path in ("/", "/runs", "/templates", "/rules/new", "/templates/new"):
        answer = client.get(url(school, path))
        assert (answer.status_code == 200) is allowed, (path, answer.status_code)


def test_the_rule_list_shows_the_installed_rule_set(school, make_client):
    page = make_client(member(school, Role.ADMIN)).get(url(school, "/")).text
    assert ENROLMENT_RULE in page and "customer tagged “enrolment”" in page
    assert "Create a proforma or invoice from lines" in page


def test_a_rule_is_made_with_actions_in_order_from_forms(school, make_client):
    client = make_client(member(school, Role.ADMIN))
    answer = client.post(url(school, "/rules/new"), data={
        "name": "Quote accepted: invoice", "trigger": "quote.accepted", "active": "y",
        "customer_tag": "VIP", "document_kind": "quote", "status_from": "", "status_to": ""})
    assert answer.status_code == 302, errors_in(answer.text)
    with scoping.tenant_context(school.id):
        rule = db.session.scalar(select(AutomationRule).where(
            AutomationRule.name == "Quote accepted: invoice"))
        assert rule.conditions == {"customer_tag": "vip", "document_kind": "quote"}
        rule_id = rule.id
    refused = client.post(url(school, f"/rules/{rule_id}/actions"), data={
        "kind": "create_document", "document_kind": "invoice", "lines": "two; Course; 10"})
    assert refused.status_code == 422
    assert "Row 1: the quantity “two” is not a number." in errors_in(refused.text)
    for data in ({"kind": "create_document", "document_kind": "invoice", "issue": "y",
                  "lines": "1; Course; 100; S25"},
                 {"kind": "send_documents", "attach_generated": "y"}):
        assert client.post(url(school, f"/rules/{rule_id}/actions"), data=data
                           ).status_code == 302
    with scoping.tenant_context(school.id):
        rule = db.session.get(AutomationRule, rule_id)
        first = rule.actions[0].id
    client.post(url(school, f"/actions/{first}/move"), data={"direction": "down"})
    with scoping.tenant_context(school.id):
        db.session.expire_all()
        rule = db.session.get(AutomationRule, rule_id)
        assert [a.kind for a in rule.actions] == [ActionKind.SEND_DOCUMENTS,
                                                  ActionKind.CREATE_DOCUMENT]
        assert rule.actions[1].settings["lines"] == [
            {"quantity": "1", "item": "Course", "unit_price": "100", "vat_code": "S25"}]


def test_a_template_with_an_unknown_field_is_refused_naming_it(school, make_client):
    client = make_client(member(school, Role.ADMIN))
    answer = client.post(url(school, "/templates/new"), data={
        "name": "Welcome letter", "kind": "letter", "title": "Welcome",
        "body": "Dear {{ customer.name }},\n\nyour course starts {{ course.start }}."})
    assert answer.status_code == 422
    assert errors_in(answer.text) == ["Unknown field: course (line 3). See the field"
                                      " reference for the fields there are."]
    with scoping.tenant_context(school.id):
        assert db.session.scalar(select(DocumentTemplate).where(
            DocumentTemplate.name == "Welcome letter")) is None


def test_a_template_is_saved_and_previewed_as_pdf(school, make_client):
    client = make_client(member(school, Role.ADMIN))
    answer = client.post(url(school, "/templates/new"), data={
        "name": "Welcome letter", "kind": "letter", "title": "Welcome, {{ customer.name }}",
        "body": "Dear {{ customer.name }},\n\nwelcome to {{ tenant.name }}."})
    assert answer.status_code == 302
    preview = client.get(answer.headers["Location"].replace("?", "") + "/preview.pdf")
    assert preview.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(preview.data)).pages[0].extract_text()
    assert "Welcome, Ana Popescu" in text and "welcome to Diana Cursuri SRL" in text


def test_a_document_is_generated_by_hand_on_the_customer_page(school, make_client):
    customer_id = CustomerFactory(tenant=school, name="Ion Ionescu").id
    client = make_client(member(school, Role.STAFF))
    with scoping.tenant_context(school.id):
        template_id = db.session.scalar(select(DocumentTemplate.id))
    answer = client.post(url(school, f"/customers/{customer_id}/documents"),
                         data={"template_id": str(template_id)})
    assert answer.status_code == 302
    page = client.get(f"/t/{school.slug}/customers/{customer_id}").text
    assert "Contracts and letters" in page and "Training contract" in page
    with scoping.tenant_context(school.id):
        generated = db.session.scalar(select(GeneratedDocument))
        assert generated.customer_id == customer_id and generated.run_id is None
        generated_id = generated.id
    download = client.get(url(school, f"/customers/{customer_id}/documents/{generated_id}.pdf"))
    assert download.mimetype == "application/pdf"
    assert "Ion Ionescu" in PdfReader(io.BytesIO(download.data)).pages[0].extract_text()


def test_the_run_log_shows_a_failed_run_with_its_reason(school, make_client):
    run = AutomationRunFactory(tenant=school)
    client = make_client(member(school, Role.ADMIN))
    assert "no e-mail address" in client.get(url(school, "/runs")).text
    page = client.get(url(school, f"/runs/{run.id}")).text
    assert "Retry from the first action not done" in page
