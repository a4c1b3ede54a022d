"""The rules of outbound webhooks (pure): which URLs may be called, when to try again.

No Flask and no database here; the service passes in the configuration and the clock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

MAX_URL_LENGTH = 500
Resolver = Callable[[str], Iterable[str]]


class UrlRefused(ValueError):
    """A URL that may not be a webhook endpoint; the message says why, fit for the user."""


def check_url(url: str) -> str:
    """The URL, trimmed, if it is an absolute http(s) URL with a host; else UrlRefused."""
    url = (url or "").strip()
    if not url:
        raise UrlRefused("Enter the URL that should receive the events.")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"The URL is too long (at most {MAX_URL_LENGTH} characters).")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise UrlRefused(f"That is not a valid URL: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        if parts.scheme and parts.netloc:
            raise UrlRefused(f"Only http:// and https:// URLs can receive webhooks,"
                             f" not {parts.scheme}://.")
        raise UrlRefused("That is not a URL: it should look like https://example.com/webhooks.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host name: it should look like"
                         " https://example.com/webhooks.")
    if parts.username or parts.password:
        raise UrlRefused("Leave user names and passwords out of the URL: every request is"
                         " signed instead.")
    return url


def private_address(address: str) -> bool:
    """Whether an IP address is one a webhook must not reach (loopback, private, link-local
    such as cloud metadata, multicast, reserved or unspecified)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_host(url: str, resolve: Resolver,
               why: str = "webhooks go only to public addresses on the internet") -> None:
    """Refuse a URL whose host is, or resolves to, a non-public address (SSRF guard)."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = [host] if _is_ip(host) else list(resolve(host))
    except OSError as exc:
        raise UrlRefused(f"The host {host} cannot be found ({exc}).") from exc
    if not addresses:
        raise UrlRefused(f"The host {host} cannot be found.")
    refused = sorted({address for address in addresses if private_address(address)})
    if refused:
        raise UrlRefused(f"The host {host} is a private or local address ({', '.join(refused)}):"
                         f" {why}.")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def next_attempt_at(attempts: int, retry_minutes: Sequence[int], now: datetime) -> datetime | None:
    """When to try a delivery again after its attempts-th failed try; None: give it up.

    The first try is not a retry: after it, wait retry_minutes[0]; after the second,
    retry_minutes[1] ... and after 1 + len(retry_minutes) tries, give up.
    """
    if attempts < 1 or attempts > len(retry_minutes):
        return None
    return now + timedelta(minutes=retry_minutes[attempts - 1])


def success_rate(succeeded: int, finished: int) -> int | None:
    """Percentage of finished deliveries that succeeded, rounded down; None without any."""
    return None if finished == 0 else succeeded * 100 // finished
