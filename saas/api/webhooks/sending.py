"""Post one signed webhook request and say how it went (the HTTP side of a delivery)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

import requests

from saas.api.webhooks import policy
from saas.api.webhooks.models import RESPONSE_KEPT

USER_AGENT = "Fakturia-Webhooks/1.0 (+https://fakturia.example/webhooks)"


@dataclass(frozen=True)
class Outcome:
    """What a receiver answered to one try (or why it could not be asked)."""

    ok: bool
    status_code: int | None = None
    body: str | None = None
    duration_ms: int | None = None
    error: str | None = None


def resolve(host: str) -> list[str]:
    """Every address the host name resolves to."""
    return [info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


def post(url: str, body: str, headers: dict[str, str], *, timeout: float,
         allow_private_hosts: bool) -> Outcome:
    """Post body to url once: 2xx is success; anything else, and any error, a failure."""
    if not allow_private_hosts:
        # Checked again at every try: a name may have been pointed elsewhere since it was
        # saved. (A name that changes between this look-up and the connection is a gap
        # that only a resolving proxy closes.)
        try:
            policy.check_host(url, resolve)
        except policy.UrlRefused as exc:
            return Outcome(ok=False, error=f"Not sent: {exc}")
    started = time.monotonic()
    with requests.Session() as session:
        # No proxies from the environment: they would reach hosts the guard above refused.
        session.trust_env = False
        try:
            with session.post(url, data=body.encode(), timeout=timeout, stream=True,
                              allow_redirects=False,
                              headers={**headers, "Content-Type": "application/json",
                                       "User-Agent": USER_AGENT}) as response:
                answer = _first_bytes(response)
        except requests.Timeout:
            return Outcome(ok=False, duration_ms=_since(started),
                           error=f"Timed out: no answer within {timeout:g} seconds.")
        except requests.ConnectionError as exc:
            return Outcome(ok=False, duration_ms=_since(started),
                           error=f"Could not connect: {_reason(exc)}")
        except requests.RequestException as exc:
            return Outcome(ok=False, duration_ms=_since(started),
                           error=f"The request failed: {_reason(exc)}")
    ok = 200 <= response.status_code < 300
    error = None
    if not ok:
        error = f"The endpoint answered HTTP {response.status_code}."
        if response.is_redirect:
            error += " Redirects are not followed: give the final URL."
    return Outcome(ok=ok, status_code=response.status_code, body=answer,
                   duration_ms=_since(started), error=error)


def _first_bytes(response: requests.Response) -> str:
    # Only the start of an answer is kept, so a huge one is not read to its end.
    head = b""
    for chunk in response.iter_content(1024):
        head += chunk
        if len(head) >= RESPONSE_KEPT:
            break
    return head[:RESPONSE_KEPT].decode(response.encoding or "utf-8", errors="replace")


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: Exception) -> str:
    return str(exc)[:500] or type(exc).__name__
