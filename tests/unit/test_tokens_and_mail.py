"""Signed links and the shape of outgoing e-mail."""

from __future__ import annotations

import email
import email.policy
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
    data = build_message(
        Mail(to="kunde@example.com", subject="Påminnelse: faktura 7 fra Ærø", text="Hei ø",
             html="<p>Hei ø</p>", sender_name="Nordlys Rørlegger AS",
             reply_to="post@nordlys.example", message_id="<m1@saas.example>",
             attachments=(("f.pdf", "application/pdf", b"%PDF-1.7"),
                          ("påminnelse.pdf", "application/pdf", b"%PDF-1.4"))),
        "invoices@saas.example",
    )
    assert data.isascii() and b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["From"] == "Nordlys Rørlegger AS <invoices@saas.example>"
    assert message["Subject"] == "Påminnelse: faktura 7 fra Ærø"
    assert message["Reply-To"] == "post@nordlys.example"
    assert message["Message-ID"] == "<m1@saas.example>" and message["Date"]
    parts = [part.get_content_type() for part in message.walk()]
    assert parts == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                     "application/pdf", "application/pdf"]
    assert message.get_body(("plain",)).get_content() == "Hei ø"
    assert [(a.get_filename(), a.get_content()) for a in message.iter_attachments()] == [
        ("f.pdf", b"%PDF-1.7"), ("påminnelse.pdf", b"%PDF-1.4")]
