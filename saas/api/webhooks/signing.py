"""Signatures of outbound webhooks, the Standard Webhooks way (pure).

The receiver gets three headers: ``webhook-id`` (the message id, the same on every try),
``webhook-timestamp`` (unix seconds of this try) and ``webhook-signature``: ``v1,`` and
the base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``, keyed with the secret's bytes
(the base64 after ``whsec_``). Libraries for Standard Webhooks verify it as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 24
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh signing secret: whsec_ and 24 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header of one request: "v1," and the base64 HMAC-SHA256."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The signature headers of one request."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def verify(secret: str, message_id: str, timestamp: str, body: str, signature_header: str,
           now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether a request's signature header holds a valid signature (what receivers do).

    The header may list several space-separated signatures (during a secret's rotation);
    one valid ``v1`` signature is enough. Too old or too new a timestamp is refused, so a
    captured request cannot be replayed later.
    """
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, message_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, candidate)
               for candidate in signature_header.split() if candidate.startswith("v1,"))
