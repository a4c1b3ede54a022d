"""Members, roles and invitations."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Invitation, Membership, Role
from tests.factories import PASSWORD, InvitationFactory, MembershipFactory, TenantFactory, member
from tests.helpers import errors_in, link_in, run_jobs, sent_mails


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Invite AS")


def _membership(tenant, user) -> Membership:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(Membership).where(Membership.user_id == user.id))


def test_admin_invites_and_a_new_user_joins_by_the_emailed_link(
    app, tenant, make_client, outbox
):
    admin = member(tenant, Role.ADMIN)
    response = make_client(admin).post(
        f"/t/{tenant.slug}/members/invite", data={"email": "new@example.com", "role": "accountant"}
    )
    assert response.status_code == 302
    run_jobs(app)
    [mail] = sent_mails(outbox)
    assert mail["To"] == "new@example.com" and "Invite AS" in mail["Subject"]

    visitor = make_client()
    link = link_in(mail)
    assert "Join Invite AS" in visitor.get(link).get_data(as_text=True)
    joined = visitor.post(link, data={"name": "New Person", "password": PASSWORD,
                                      "confirm": PASSWORD})
    assert joined.headers["Location"] == f"/t/{tenant.slug}/"
    assert visitor.get(f"/t/{tenant.slug}/").status_code == 200
    with scoping.tenant_context(tenant.id):
        invitation = db.session.scalar(select(Invitation))
        new_membership = db.session.scalar(
            select(Membership).where(Membership.role == Role.ACCOUNTANT)
        )
    assert invitation.accepted_at is not None
    assert new_membership.user.name == "New Person"
    # The link works once.
    assert make_client().get(link).headers["Location"] == "/login"


def test_an_existing_user_accepts_after_signing_in_as_the_invitee(tenant, make_client):
    invitee = member(TenantFactory(), email="known@example.com")
    invitation = InvitationFactory(tenant=tenant, email="known@example.com", role=Role.VIEWER)
    from saas.tenants.tokens import make_token

    with make_client().application.test_request_context():
        token = make_token("invite", {"invitation": invitation.id, "tenant": tenant.id})
    anonymous = make_client().get(f"/invitations/{token}")
    assert anonymous.headers["Location"].startswith("/login?next=/invitations/")
    signed_in = make_client(invitee)
    assert signed_in.post(f"/invitations/{token}").status_code == 302
    assert _membership(tenant, invitee).role is Role.VIEWER


def test_inviting_an_existing_member_is_refused_with_a_message(tenant, make_client):
    admin = member(tenant, Role.ADMIN)
    member(tenant, Role.STAFF, email="staff@example.com")
    response = make_client(admin).post(
        f"/t/{tenant.slug}/members/invite", data={"email": "staff@example.com", "role": "staff"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert errors_in(response.get_data(as_text=True)) == ["staff@example.com is already a member."]
    assert "<html" not in response.get_data(as_text=True)  # only the form block


@pytest.mark.parametrize("role", [Role.STAFF, Role.VIEWER, Role.ACCOUNTANT, Role.COLLECTOR])
def test_only_owners_and_admins_invite(tenant, make_client, role):
    user = member(tenant, role)
    response = make_client(user).post(
        f"/t/{tenant.slug}/members/invite", data={"email": "x@example.com", "role": "staff"}
    )
    assert response.status_code == 403
    with scoping.tenant_context(tenant.id):
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_role_change_by_htmx_returns_only_the_row_and_is_audited(tenant, make_client):
    admin = member(tenant, Role.ADMIN)
    staff = member(tenant, Role.STAFF)
    target = _membership(tenant, staff)
    response = make_client(admin).post(
        f"/t/{tenant.slug}/members/{target.id}/role", data={"role": "collector"},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.strip().startswith(f'<tr id="member-{target.id}">')
    assert 'value="collector" selected' in body
    assert response.headers["Vary"].count("HX-Request") == 1
    assert _membership(tenant, staff).role is Role.COLLECTOR
    with scoping.tenant_context(tenant.id):
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "member.role_changed")
        )
    assert (entry.user_id, entry.details) == (admin.id, {"from": "staff", "to": "collector"})


def test_an_admin_cannot_make_or_unmake_owners(tenant, make_client):
    admin = member(tenant, Role.ADMIN)
    owner = member(tenant, Role.OWNER)
    client = make_client(admin)
    own = _membership(tenant, owner)
    response = client.post(f"/t/{tenant.slug}/members/{own.id}/role", data={"role": "viewer"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Only an owner" in response.get_data(as_text=True)
    assert _membership(tenant, owner).role is Role.OWNER


def test_the_last_owner_cannot_step_down(tenant, make_client):
    owner = member(tenant, Role.OWNER)
    mine = _membership(tenant, owner)
    make_client(owner).post(f"/t/{tenant.slug}/members/{mine.id}/role", data={"role": "admin"})
    assert _membership(tenant, owner).role is Role.OWNER


def test_an_owner_removes_a_member_who_then_loses_access(tenant, make_client):
    owner = member(tenant, Role.OWNER)
    leaver = member(tenant, Role.STAFF)
    leaver_client = make_client(leaver)
    assert leaver_client.get(f"/t/{tenant.slug}/").status_code == 200
    target = _membership(tenant, leaver)
    make_client(owner).post(f"/t/{tenant.slug}/members/{target.id}/remove")
    assert leaver_client.get(f"/t/{tenant.slug}/").status_code == 404


def test_a_revoked_invitation_link_no_longer_works(tenant, make_client):
    admin = member(tenant, Role.ADMIN)
    invitation = InvitationFactory(tenant=tenant)
    from saas.tenants.tokens import make_token

    with make_client().application.test_request_context():
        token = make_token("invite", {"invitation": invitation.id, "tenant": tenant.id})
    make_client(admin).post(f"/t/{tenant.slug}/invitations/{invitation.id}/revoke")
    assert invitation.revoked_at is not None
    assert make_client().get(f"/invitations/{token}").headers["Location"] == "/login"


def test_viewers_see_members_but_no_management_controls(tenant, make_client):
    viewer = member(tenant, Role.VIEWER)
    MembershipFactory(tenant=tenant, role=Role.STAFF)
    page = make_client(viewer).get(f"/t/{tenant.slug}/members").get_data(as_text=True)
    assert "Invite a colleague" not in page and "<select" not in page
