"""Settings → API tokens (/t/<slug>/settings/api-tokens): managers make and revoke the
tokens other applications use; a new token's text is shown once, on the answer to the
request that made it, and never again."""

from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from saas.api import tokens
from saas.api.models import ApiToken, TokenScope
from saas.extensions import db
from saas.forms import choices, strip
from saas.htmx import redirect_to, render
from saas.tenants.access import MANAGERS, get_or_404, requires, staff_blueprint
from saas.tenants.services import absolute_url

bp = staff_blueprint("api_tokens", __name__, "/settings/api-tokens")


class TokenForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=[
        DataRequired(message="Name the token after the application that will use it."),
        Length(max=100)])
    scope = RadioField("May", default=TokenScope.READ.value,
                       choices=choices((scope.value, scope.label) for scope in TokenScope))


def _page(form: TokenForm | None = None, new: tokens.NewToken | None = None,
          status: int = 200) -> Response:
    response = render("settings/api_tokens.html", form=form or TokenForm(), new=new,
                      tokens=tokens.tokens_of_current_tenant(),
                      openapi_url=absolute_url("api.openapi"), status=status)
    if new is not None:  # the secret is on this page: keep it out of every cache
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("")
@requires(MANAGERS)
def page() -> Response:
    return _page()


@bp.route("", methods=["POST"])
@requires(MANAGERS)
def create() -> Response:
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    new = tokens.create_token(form.name.data, form.scope.data, user_id=current_user.id)
    db.session.commit()
    return _page(new=new, status=201)


@bp.route("/<int:api_token_id>/revoke", methods=["POST"])
@requires(MANAGERS)
def revoke(api_token_id: int) -> Response:
    token = get_or_404(ApiToken, api_token_id)
    if tokens.revoke_token(token, user_id=current_user.id):
        db.session.commit()
        flash(f"Token {token.name} revoked: applications using it are refused from now on.",
              "success")
    return redirect_to(url_for("api_tokens.page"))
