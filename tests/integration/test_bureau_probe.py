"""A bureau member serving some clients reaches none of the others' records in the bureau's
own pages either (R8, issue 13).

In the clients themselves ``test_bureau`` probes every URL (404 to a member not assigned).
Here, inside the bureau: every bureau URL that names a record about a client — the register
entry (``bureau_client_id``), a print run (``bureau_post_batch_id``) — with every method,
asked by a staff member assigned to another client only, answers 403 or 404 and changes
nothing. A new argument of the bureau's URLs fails the probe until it is added here.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.billing.customers.models import DeliveryPreference
from saas.extensions import db
from saas.outsourced_service.models import BureauClient, BureauPostBatch
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, BureauAssignment, Role
from tests.factories_bureau import bureau_member, bureau_with_clients
from tests.integration.test_bureau import issued_invoice

BUREAU_BLUEPRINT = "bureau"


def _bureau_rows(bureau_tenant_id: int) -> tuple:
    with scoping.tenant_context(bureau_tenant_id):
        return (
            [(c.id, c.client.bureau_mode, c.ended_at, c.fee_documents, c.fee_monthly) for c in
             db.session.scalars(select(BureauClient).order_by(BureauClient.id))],
            [(r.id, r.printed_at) for r in
             db.session.scalars(select(BureauPostBatch).order_by(BureauPostBatch.id))],
            db.session.scalars(select(BureauAssignment.id).order_by(BureauAssignment.id)).all(),
            db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all(),
        )


def test_a_member_reaches_no_record_of_a_client_it_does_not_serve_in_the_bureau(
    app, make_client, db_session
):
    bureau = bureau_with_clients(("Mine AS", "Theirs AS"))
    mine, theirs = bureau.clients
    staff = bureau_member(bureau, Role.STAFF, assigned_to=(mine,))
    issued_invoice(theirs, preference=DeliveryPreference.POST)
    admin = make_client(bureau.admin)
    assert admin.post(f"/t/{bureau.tenant.slug}/bureau/post").status_code == 302
    with scoping.tenant_context(bureau.tenant.id):
        register = db.session.scalar(
            select(BureauClient).where(BureauClient.client_tenant_id == theirs.id))
        [run] = db.session.scalars(select(BureauPostBatch)).all()
        objects = {"bureau_client_id": register.id, "bureau_post_batch_id": run.id}
    assert [part["client"] for part in run.parts] == ["Theirs AS"]

    rules = [rule for rule in app.url_map.iter_rules()
             if rule.endpoint.split(".")[0] == BUREAU_BLUEPRINT
             and rule.arguments - {"tenant_slug"}]
    assert {arg for rule in rules for arg in rule.arguments} - {"tenant_slug"} == set(objects)
    # The probe can fail: the bureau's admin opens the run.
    assert admin.get(f"/t/{bureau.tenant.slug}/bureau/post/{run.id}/pdf").status_code == 200

    before = _bureau_rows(bureau.tenant.id)
    http = make_client(staff)
    answers = []
    for rule in rules:
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>",
                     lambda m: str({"tenant_slug": bureau.tenant.slug, **objects}[m.group(1)]),
                     rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            status = http.open(url, method=method, data={"mode": "self_service"}).status_code
            if status not in (403, 404):
                answers.append((method, url, status))
    assert answers == []
    assert _bureau_rows(bureau.tenant.id) == before
