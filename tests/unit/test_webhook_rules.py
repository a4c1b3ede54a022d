"""The pure rules of outbound webhooks: signatures, which URLs may be called, backoff."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from saas.api.webhooks import policy, signing

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdefghijklmn").decode()
BODY = '{"id":"evt_1","type":"document.issued"}'
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_the_signature_is_the_standard_webhooks_hmac_of_id_timestamp_and_body():
    expected = base64.b64encode(hmac.new(b"0123456789abcdefghijklmn",
                                         f"evt_1.1700000000.{BODY}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert signing.sign(SECRET, "evt_1", 1700000000, BODY) == f"v1,{expected}"


def test_the_headers_carry_id_timestamp_and_signature():
    headers = signing.headers(SECRET, "evt_1", 1700000000, BODY)
    assert headers == {"webhook-id": "evt_1", "webhook-timestamp": "1700000000",
                       "webhook-signature": signing.sign(SECRET, "evt_1", 1700000000, BODY)}


@pytest.mark.parametrize(("case", "change", "valid"), [
    ("as sent", {}, True),
    ("another body", {"body": BODY.replace("issued", "paid")}, False),
    ("another id", {"message_id": "evt_2"}, False),
    ("another secret", {"secret": signing.new_secret()}, False),
    ("five minutes old", {"now": 1700000000 + 300}, True),
    ("older than five minutes", {"now": 1700000000 + 301}, False),
    ("from the future", {"now": 1700000000 - 301}, False),
    ("one of two signatures (rotation)", {"header": "v1,bm90IGl0 {sig}"}, True),
    ("no v1 signature", {"header": "v2,{b64}"}, False),
])
def test_verification(case, change, valid):
    signature = signing.sign(SECRET, "evt_1", 1700000000, BODY)
    header = change.get("header", "{sig}").format(sig=signature, b64=signature[3:])
    assert signing.verify(change.get("secret", SECRET), change.get("message_id", "evt_1"),
                          "1700000000", change.get("body", BODY), header,
                          now=change.get("now", 1700000000)) is valid, case


def test_a_new_secret_is_random_and_decodes_to_24_bytes():
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24


@pytest.mark.parametrize(("url", "message"), [
    ("", "Enter the URL"),
    ("not a url", "That is not a URL"),
    ("example.com/hooks", "That is not a URL"),
    ("ftp://example.com/hooks", "Only http:// and https:// URLs can receive webhooks, not ftp://"),
    ("javascript:alert(1)", "That is not a URL"),
    ("https:///path-only", "no host name"),
    ("https://user:pw@example.com/hooks", "Leave user names and passwords out"),
    ("https://example.com:port/hooks", "not a valid URL"),
    ("https://example.com/" + "x" * 500, "too long"),
])
def test_urls_refused(url, message):
    with pytest.raises(policy.UrlRefused, match=message):
        policy.check_url(url)


@pytest.mark.parametrize("url", ["https://example.com/hooks", "http://example.com:8080/h?x=1",
                                 "  https://hooks.example.org/fakturia  "])
def test_urls_accepted(url):
    assert policy.check_url(url) == url.strip()


@pytest.mark.parametrize(("address", "private"), [
    ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True),
    ("169.254.169.254", True),  # cloud metadata
    ("0.0.0.0", True), ("::1", True), ("fe80::1", True), ("fc00::1", True),
    ("::ffff:127.0.0.1", True), ("100.64.0.1", True), ("224.0.0.1", True),
    ("93.184.215.14", False), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False),
])
def test_private_addresses(address, private):
    assert policy.private_address(address) is private


@pytest.mark.parametrize(("url", "resolved", "message"), [
    ("http://127.0.0.1:8000/h", None, "private or local address"),
    ("http://[::1]/h", None, "private or local address"),
    ("https://intranet.example/h", ["10.0.0.7"], r"intranet.example is a private .*10\.0\.0\.7"),
    ("https://mixed.example/h", ["93.184.215.14", "192.168.0.2"], "192.168.0.2"),
    ("https://nowhere.example/h", OSError("Name or service not known"), "cannot be found"),
])
def test_hosts_refused(url, resolved, message):
    def resolve(host):
        if isinstance(resolved, Exception):
            raise resolved
        assert resolved is not None, "an IP address is not looked up"
        return resolved

    with pytest.raises(policy.UrlRefused, match=message):
        policy.check_host(url, resolve)


def test_a_public_host_passes():
    assert policy.check_host("https://hooks.example.com/x", lambda host: ["93.184.215.14"]) is None


RETRIES = (1, 5, 30, 120, 720)


@pytest.mark.parametrize(("attempts", "wait"), [
    (1, timedelta(minutes=1)), (2, timedelta(minutes=5)), (3, timedelta(minutes=30)),
    (4, timedelta(hours=2)), (5, timedelta(hours=12)), (6, None), (0, None),
])
def test_backoff_schedule(attempts, wait):
    expected = None if wait is None else NOW + wait
    assert policy.next_attempt_at(attempts, RETRIES, NOW) == expected


@pytest.mark.parametrize(("succeeded", "finished", "rate"), [
    (0, 0, None), (3, 3, 100), (2, 3, 66), (0, 5, 0),
])
def test_success_rate(succeeded, finished, rate):
    assert policy.success_rate(succeeded, finished) == rate
