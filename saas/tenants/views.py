"""The tenant's own pages: dashboard, company settings, bank accounts, branding, members, audit."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from saas.billing.dunning.queries import work_list
from saas.billing.todos.views import open_todos
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.tenants import services
from saas.tenants.access import (
    ALL_ROLES,
    MANAGERS,
    current_membership,
    current_tenant,
    get_or_404,
    requires,
    staff_blueprint,
    tenant_today,
)
from saas.tenants.forms import (
    BankAccountForm,
    BrandingForm,
    InviteForm,
    RoleForm,
    TenantProfileForm,
)
from saas.tenants.models import AuditEntry, BankAccount, Invitation, Membership, Role, User

bp = staff_blueprint("tenant", __name__)

AUDIT_PAGE_SIZE = 50


@bp.route("/")
@requires(ALL_ROLES)
def dashboard() -> Response:
    member_count = db.session.scalar(select(func.count()).select_from(Membership))
    recent = db.session.scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(8)
    ).all()
    accounts = db.session.scalar(select(func.count()).select_from(BankAccount))
    branding = services.branding_of_current_tenant()
    return render(
        "app/dashboard.html",
        member_count=member_count,
        recent=recent,
        bank_account_count=accounts,
        branding=branding,
        todos=open_todos(limit=5),
        # R6.7: what the signed-in collector must do today.
        collection_work=work_list(tenant_today(), current_user.id),
    )


# --- company settings ----------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@requires(MANAGERS)
def settings() -> Response:
    tenant = current_tenant()
    form = TenantProfileForm(obj=tenant)
    if form.validate_on_submit():
        values = {name: getattr(form, name).data or "" for name in services.PROFILE_FIELDS}
        services.update_tenant_profile(tenant, values)
        db.session.commit()
        flash("Company details saved.", "success")
        return redirect_to(url_for("tenant.settings"))
    return render("settings/profile.html", form=form, status=422 if form.errors else 200)


@bp.route("/settings/bank-accounts", methods=["GET", "POST"])
@requires(MANAGERS)
def bank_accounts() -> Response:
    form = BankAccountForm(country=current_tenant().country,
                           currency=current_tenant().default_currency)
    if form.validate_on_submit():
        services.add_bank_account(form.account_values())
        db.session.commit()
        flash("Bank account added.", "success")
        return redirect_to(url_for("tenant.bank_accounts"))
    accounts = db.session.scalars(select(BankAccount).order_by(BankAccount.id)).all()
    return render(
        "settings/bank_accounts.html",
        block="bank_account_form" if form.errors else None,
        form=form,
        accounts=accounts,
        status=422 if form.errors else 200,
    )


@bp.route("/settings/bank-accounts/<int:bank_account_id>/default", methods=["POST"])
@requires(MANAGERS)
def make_default_bank_account(bank_account_id: int) -> Response:
    services.set_default_bank_account(get_or_404(BankAccount, bank_account_id))
    db.session.commit()
    return redirect_to(url_for("tenant.bank_accounts"))


@bp.route("/settings/bank-accounts/<int:bank_account_id>/delete", methods=["POST"])
@requires(MANAGERS)
def delete_bank_account(bank_account_id: int) -> Response:
    services.delete_bank_account(get_or_404(BankAccount, bank_account_id))
    db.session.commit()
    flash("Bank account removed.", "success")
    return redirect_to(url_for("tenant.bank_accounts"))


@bp.route("/settings/branding", methods=["GET", "POST"])
@requires(MANAGERS)
def branding() -> Response:
    branding = services.branding_of_current_tenant()
    form = BrandingForm(obj=branding)
    if form.validate_on_submit():
        upload = form.logo.data
        try:
            services.update_branding(
                branding,
                primary_color=form.primary_color.data,
                footer_text=form.footer_text.data or "",
                email_sender_name=form.email_sender_name.data,
                reply_to=form.reply_to.data or "",
                logo=upload.read() if upload else None,
                remove_logo=form.remove_logo.data,
            )
        except services.InvalidLogo as exc:
            db.session.rollback()
            form.logo.errors = [str(exc)]
        else:
            db.session.commit()
            flash("Branding saved.", "success")
            return redirect_to(url_for("tenant.branding"))
    return render(
        "settings/branding.html", form=form, branding=branding,
        status=422 if form.errors else 200,
    )


# --- members -------------------------------------------------------------------------------


def _members_page(invite_form: InviteForm | None = None) -> dict[str, object]:
    invitations = db.session.scalars(
        select(Invitation)
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ).all()
    members = db.session.scalars(select(Membership).join(Membership.user).order_by(User.name))
    return {
        "members": members.all(),
        "invitations": invitations,
        "invite_form": invite_form or InviteForm(),
        "role_form": RoleForm(),
    }


@bp.route("/members")
@requires(ALL_ROLES)
def members() -> Response:
    return render("members/list.html", **_members_page())


@bp.route("/members/invite", methods=["POST"])
@requires(MANAGERS)
def invite() -> Response:
    form = InviteForm()
    if form.validate_on_submit():
        try:
            services.invite_user(
                current_tenant(), form.email.data, Role(form.role.data), current_user
            )
        except services.ServiceError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Invitation sent to {form.email.data}.", "success")
            return redirect_to(url_for("tenant.members"))
    return render("members/list.html", block="invite_form", status=422, **_members_page(form))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@requires(MANAGERS)
def revoke_invitation(invitation_id: int) -> Response:
    invitation = get_or_404(Invitation, invitation_id)
    try:
        services.revoke_invitation(invitation)
    except services.ServiceError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Invitation to {invitation.email} withdrawn.", "success")
    return redirect_to(url_for("tenant.members"))


@bp.route("/members/<int:membership_id>/role", methods=["POST"])
@requires(MANAGERS)
def change_role(membership_id: int) -> Response:
    """Change a member's role; htmx swaps just that member's row."""
    membership = get_or_404(Membership, membership_id)
    form = RoleForm()
    error = None
    if not form.validate_on_submit():
        error = "; ".join(form.role.errors) or "Choose a role."
    else:
        try:
            services.change_role(membership, Role(form.role.data), current_membership())
        except services.ServiceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
    if not wants_fragment():
        flash(error or f"{membership.user.name} is now {membership.role.label}.",
              "error" if error else "success")
        return redirect_to(url_for("tenant.members"))
    return render(
        "members/list.html",
        block="member_row",
        member=membership,
        row_error=error,
        role_form=RoleForm(),
        status=422 if error else 200,
    )


@bp.route("/members/<int:membership_id>/remove", methods=["POST"])
@requires(MANAGERS)
def remove_member(membership_id: int) -> Response:
    membership = get_or_404(Membership, membership_id)
    try:
        services.remove_member(membership, current_membership())
    except services.ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("Member removed.", "success")
    return redirect_to(url_for("tenant.members"))


# --- audit log -----------------------------------------------------------------------------


@bp.route("/audit")
@requires(MANAGERS | {Role.ACCOUNTANT})
def audit_log() -> Response:
    query = request.args.get("q", "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    statement = select(AuditEntry).outerjoin(AuditEntry.user)
    if query:
        like = f"%{query}%"
        statement = statement.where(
            or_(
                AuditEntry.action.ilike(like),
                AuditEntry.summary.ilike(like),
                AuditEntry.object_type.ilike(like),
                User.email.ilike(like),
                User.name.ilike(like),
            )
        )
    entries = db.session.scalars(
        statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * AUDIT_PAGE_SIZE)
        .limit(AUDIT_PAGE_SIZE + 1)
    ).all()
    return render(
        "audit/list.html",
        block="audit_rows",
        entries=entries[:AUDIT_PAGE_SIZE],
        has_more=len(entries) > AUDIT_PAGE_SIZE,
        page=page,
        q=query,
    )
