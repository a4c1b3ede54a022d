"""Settings → E-mail sending (/t/<slug>/settings/email): the tenant's own mail server.

Owners and admins set the server, its login and the from address, send a test message
with what is on the form (before or after saving), or remove the server to send through
the platform's again. The password is never shown again, only "saved" (and the end of
a long one).
"""

from __future__ import annotations

from flask import current_app, flash, g, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from saas.encryption import SecretUnreadable
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants import mail_servers
from saas.tenants.access import MANAGERS, requires, staff_blueprint
from saas.tenants.forms import MailServerForm

bp = staff_blueprint("mail_settings", __name__, "/settings/email")


def _settings(form: MailServerForm) -> mail_servers.MailServerSettings:
    return mail_servers.MailServerSettings(
        host=form.host.data or "", port=form.port.data or "",
        security=form.security.data or "", username=form.username.data or "",
        password=form.password.data or "", from_address=form.from_address.data or "")


def _page(form: MailServerForm | None = None, status: int = 200, tested: str = "",
          test_error: str = "") -> Response:
    server = mail_servers.mail_server_of_current_tenant()
    if form is None:
        form = MailServerForm(data={
            "host": server.host, "port": str(server.port), "security": server.security.value,
            "username": server.username, "from_address": server.from_address,
        } if server else None)
    unreadable = False
    if server is not None and server.password_encrypted:
        try:
            mail_servers.outgoing_of_current_tenant()
        except SecretUnreadable:
            unreadable = True
    return render("settings/email.html", form=form, server=server, unreadable=unreadable,
                  labels=mail_servers.SECURITY_LABELS, tested=tested, test_error=test_error,
                  platform_sender=current_app.config["MAIL_FROM"], status=status)


@bp.route("")
@requires(MANAGERS)
def page() -> Response:
    return _page()


@bp.route("", methods=["POST"])
@requires(MANAGERS)
def save() -> Response:
    form = MailServerForm()
    if form.validate_on_submit():
        try:
            mail_servers.save_mail_server(_settings(form), user_id=current_user.id)
        except mail_servers.MailServerRefused as exc:
            db.session.rollback()
            form[exc.field].errors = [str(exc)]
        else:
            db.session.commit()
            flash("Saved: your e-mail is sent through your own server from now on.", "success")
            return redirect_to(url_for("mail_settings.page"))
    return _page(form, status=422)


@bp.route("/test", methods=["POST"])
@requires(MANAGERS)
def send_test() -> Response:
    """Send a test message to the signed-in user with the form's settings (nothing saved)."""
    form = MailServerForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        where = mail_servers.send_test(_settings(form), current_user.email, g.tenant.display_name)
    except mail_servers.MailServerRefused as exc:
        form[exc.field].errors = [str(exc)]
        return _page(form, status=422)
    except mail_servers.TestFailed as exc:
        return _page(form, status=422, test_error=str(exc))
    return _page(form, tested=f"A test message went to {current_user.email} through {where}."
                              " Check that it arrived, then save the settings if you have not.")


@bp.route("/remove", methods=["POST"])
@requires(MANAGERS)
def remove() -> Response:
    if mail_servers.remove_mail_server(user_id=current_user.id):
        db.session.commit()
        flash("Removed: your e-mail goes through the platform's server again.", "success")
    return redirect_to(url_for("mail_settings.page"))
