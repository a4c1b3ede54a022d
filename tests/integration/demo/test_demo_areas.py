"""The demo's collection case, bank statement and portal sign-in link (`make run`)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from saas import clock, demo
from saas.billing.dunning import queries
from saas.billing.dunning.models import CaseDocument, CaseStatus, CollectionCase, ContactNote
from saas.billing.dunning.rules import TodoKind
from saas.billing.payments import references
from saas.billing.payments.models import BankLine, BankStatement
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant, User

SIGN_IN_LINK = re.compile(r"https?://[^/\s]+(/p/[^/\s]+/sign-in/[\w-]+)")


def test_the_demo_bureau_has_a_case_with_a_broken_promise_a_late_contact_and_a_stage(
    db_session,
):
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == demo.BUREAU.slug))
    collector_id = db.session.scalar(select(User.id).where(User.email == "collector@biuro.example"))
    with scoping.tenant_context(tenant.id):
        [case] = db.session.scalars(select(CollectionCase)).all()
        assert (case.status, case.collector_id) == (CaseStatus.OPEN, collector_id)
        assert case.legal_stage.name == "Pre-legal demand"
        assert [stage.name for stage in case.legal_path.stages] == [
            "Pre-legal demand",
            "Court filing",
            "Judgment",
            "Enforcement",
        ]
        [note] = db.session.scalars(select(ContactNote)).all()
        assert note.promise_amount > 0
        today = clock.today_in(tenant.timezone)
        kinds = {item.todo.kind for item in queries.work_list(today, collector_id)}
        assert kinds == {TodoKind.BROKEN_PROMISE, TodoKind.CONTACT}
        assert db.session.scalar(select(func.count()).select_from(CaseDocument)) == 1


def test_the_demo_statement_shows_automatic_matches_and_the_queue(db_session):
    for slug in (demo.NORDLYS.slug, demo.CLIENTS[0].slug):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with scoping.tenant_context(tenant.id):
            [statement] = db.session.scalars(select(BankStatement)).all()
            lines = db.session.scalars(select(BankLine).where(
                BankLine.statement_id == statement.id).order_by(BankLine.position)).all()
            assert [(line.status.value, line.matched_automatically) for line in lines] == [
                ("matched", True)] * 3 + [("unmatched", False), ("ignored", False)]
            assert [line.match_note.split(" ")[0] for line in lines[:3]] == [
                "Payment", "Invoice", "Amount"]
            reference = lines[0].structured_reference  # made at issue, or typed (invoice no.)
            assert (references.is_valid_kid(reference, "MOD10") if slug == "nordlys"
                    else references.is_valid_rf(reference)), reference


def test_the_demo_seed_prints_a_sign_in_link_that_works(app, seeded, db_session):
    [path] = SIGN_IN_LINK.findall(seeded.output)
    assert "as Per Havik of Havbris Hotell AS" in seeded.output
    visitor = app.test_client()
    assert visitor.post(path).status_code == 302
    page = visitor.get("/p/nordlys/documents")
    assert "Havbris Hotell AS" in page.text and 'lang="nb"' in page.text
    assert "Venter på svar" in page.text  # the demo quote waits for an answer
