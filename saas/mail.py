"""Outgoing e-mail: SMTP when SMTP_URL is set, otherwise .eml files in the outbox folder."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from rq import Retry

from saas.queue import enqueue, job


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    sender_name: str = ""
    reply_to: str = ""
    attachments: tuple[tuple[str, str, bytes], ...] = field(default_factory=tuple)


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """Turn a Mail into a MIME message (text, optional HTML, attachments)."""
    message = EmailMessage()
    message["From"] = formataddr((mail.sender_name, sender)) if mail.sender_name else sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for filename, mime, data in mail.attachments:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send_now(mail: Mail) -> str:
    """Deliver a Mail at once through SMTP, or write it to the outbox folder.

    Returns the message's Message-ID.
    """
    config = current_app.config
    message = build_message(mail, config["MAIL_FROM"])
    if config.get("SMTP_URL"):
        _send_smtp(message, config["SMTP_URL"])
    else:
        outbox = Path(config["OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))
    return str(message["Message-ID"])


def _send_smtp(message: EmailMessage, url: str) -> None:
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=30)
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=30)
    with client:
        if options.get("starttls", ["0"])[0] in {"1", "true"}:
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


@job
def deliver_email(mail: Mail) -> None:
    """Background job: send one e-mail."""
    send_now(mail)


def queue_email(mail: Mail, job_id: str | None = None) -> None:
    """Send mail after the current transaction commits, retrying SMTP failures."""
    enqueue(
        deliver_email,
        mail,
        queue="email",
        job_id=job_id,
        retry=Retry(max=3, interval=[10, 60, 300]),
    )
