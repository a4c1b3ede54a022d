"""Signed links and the shape of outgoing e-mail."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from saas.mail import Mail, build_message
from saas.tenants.tokens import InvalidToken, make_token, read_token


@pytest.fixture()
def app_context():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="unit", TOKEN_MAX_AGE_SECONDS=60)
    with app.app_context():
        yield app


def test_a_token_round_trips_its_payload(app_context):
    assert read_token("reset", make_token("reset", {"user": 7})) == {"user": 7}


def test_a_token_for_one_purpose_is_refused_for_another(app_context):
    with pytest.raises(InvalidToken, match="not valid"):
        read_token("invite", make_token("reset", {"user": 7}))


def test_a_tampered_token_is_refused(app_context):
    token = make_token("reset", {"user": 7})
    with pytest.raises(InvalidToken):
        read_token("reset", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))


def test_an_expired_token_says_so(app_context, monkeypatch):
    token = make_token("reset", {"user": 7})
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    with pytest.raises(InvalidToken, match="expired"):
        read_token("reset", token)


def test_a_token_signed_with_another_key_is_refused(app_context):
    token = make_token("reset", {"user": 7})
    app_context.config["SECRET_KEY"] = "rotated"
    with pytest.raises(InvalidToken):
        read_token("reset", token)


def test_a_mail_has_sender_name_reply_to_html_and_attachments():
    message = build_message(
        Mail(to="kunde@example.com", subject="Faktura", text="Hei", html="<p>Hei</p>",
             sender_name="Nordlys Rørlegger AS", reply_to="post@nordlys.example",
             attachments=(("f.pdf", "application/pdf", b"%PDF"),)),
        "invoices@saas.example",
    )
    assert message["From"].endswith("<invoices@saas.example>")
    assert "Nordlys" in str(message["From"])
    assert message["Reply-To"] == "post@nordlys.example"
    parts = [part.get_content_type() for part in message.walk()]
    assert parts == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                     "application/pdf"]
