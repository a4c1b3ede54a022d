"""Sign-up, sign-in, sign-out, password reset, invitations and the tenant switcher."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from saas.extensions import db, limiter
from saas.htmx import local_path, render
from saas.tenants import scoping, services
from saas.tenants.bureau_access import served_clients
from saas.tenants.forms import (
    AcceptInvitationForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SignupForm,
)
from saas.tenants.models import TenantKind
from saas.tenants.tokens import InvalidToken

bp = Blueprint("auth", __name__)


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(default: str) -> str:
    # Only local paths: an open redirect would turn the login page into a phishing aid.
    return local_path(request.args.get("next"), default)


def _sign_in(user: services.User, remember: bool = False) -> None:
    login_user(user, remember=remember)
    scoping.set_current_user(user.id)


def _home_for(user: services.User) -> str:
    memberships = services.memberships_of(user)
    if len(memberships) == 1:
        tenant = memberships[0].tenant
        # A bureau's people start at the work queue of the clients they serve.
        home = "bureau.queue" if tenant.kind is TenantKind.BUREAU else "tenant.dashboard"
        return url_for(home, tenant_slug=tenant.slug)
    return url_for("auth.choose_tenant")


@bp.route("/")
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response:
    form = SignupForm()
    if form.validate_on_submit():
        try:
            tenant, user = services.sign_up(
                form.company_name.data,
                form.email.data,
                form.name.data,
                form.password.data,
                country=form.country.data,
                currency=form.currency.data,
            )
        except services.ServiceError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            _sign_in(user)
            flash(f"Welcome to {tenant.name}.", "success")
            return redirect(url_for("tenant.dashboard", tenant_slug=tenant.slug))
    return render("auth/signup.html", form=form, status=422 if form.errors else 200)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login() -> Response:
    form = LoginForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None and user.is_active and user.check_password(form.password.data):
            _sign_in(user, remember=form.remember.data)
            return redirect(_safe_next(_home_for(user)))
        form.password.errors.append("Wrong e-mail or password.")
    return render("auth/login.html", form=form, status=422 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def forgot_password() -> Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash("If the address has an account, a link to reset the password is on its way.", "info")
        return redirect(url_for("auth.login"))
    return render("auth/forgot.html", form=form, status=422 if form.errors else 200)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    try:
        services.user_for_reset_token(token)
    except InvalidToken as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        user = services.reset_password(token, form.password.data)
        db.session.commit()
        _sign_in(user)
        flash("Your password is changed.", "success")
        return redirect(_home_for(user))
    return render("auth/reset.html", form=form, status=422 if form.errors else 200)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Response:
    try:
        tenant, invitation = services.load_invitation(token)
    except InvalidToken as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.login"))
    existing = services.find_user_by_email(invitation.email)
    if existing is not None and (
        not current_user.is_authenticated or current_user.id != existing.id
    ):
        # The invitee has an account: sign in as that account first, then come back.
        flash(f"Sign in as {invitation.email} to accept the invitation.", "info")
        return redirect(url_for("auth.login", next=request.path))
    form = AcceptInvitationForm()
    if existing is not None and request.method == "POST":
        services.accept_invitation(invitation, existing)
        db.session.commit()
        return redirect(url_for("tenant.dashboard", tenant_slug=tenant.slug))
    if existing is None and form.validate_on_submit():
        try:
            user = services.create_user(invitation.email, form.name.data, form.password.data)
            services.accept_invitation(invitation, user)
        except services.ServiceError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            _sign_in(user)
            flash(f"Welcome to {tenant.name}.", "success")
            return redirect(url_for("tenant.dashboard", tenant_slug=tenant.slug))
    return render(
        "auth/accept.html",
        form=form,
        tenant=tenant,
        invitation=invitation,
        existing=existing,
        status=422 if form.errors else 200,
    )


@bp.route("/tenants")
@login_required
def choose_tenant() -> Response:
    memberships = services.memberships_of(current_user)
    return render("auth/choose_tenant.html", memberships=memberships,
                  served=served_clients(current_user, memberships))
