"""A local fake of the Stripe API, enough for Checkout Sessions (tests and the demo).

It listens on 127.0.0.1 on a free port, answers ``POST /v1/checkout/sessions`` (form
encoded, as the stripe library sends it), ``GET /v1/checkout/sessions/<id>`` and
``GET /v1/checkout/sessions`` (newest first; ``created[gte]``, ``limit``,
``starting_after``, ``has_more``) like Stripe, and records every request with its headers
(the Idempotency-Key among them). A request repeated with the same idempotency key gets the
first answer again, as on Stripe. ``mark_paid`` is the customer paying on Stripe's page;
it makes the payment intent, which ``GET /v1/payment_intents/<id>`` answers.

Each session belongs to the account it was made on: the secret key's (Bearer) and, for a
Connect account, the ``Stripe-Account`` header; a listing shows that account's only, and
a session or payment intent of another account is a 404, as on Stripe.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(cs_test_\w+)$")
INTENT_PATH = re.compile(r"^/v1/payment_intents/(pi_\w+)$")
LINE_ITEM = re.compile(r"^line_items\[(\d+)\]\[(.+)\]$")
METADATA = re.compile(r"^metadata\[(.+)\]$")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeStripe:
    """The server's state: the requests it was sent and the sessions it made."""

    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    intents: dict[str, dict] = field(default_factory=dict)
    # Whose each session and payment intent is: (secret key, Stripe-Account or "").
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)
    by_idempotency_key: dict[str, dict] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, form: dict[str, str]) -> None:
                with fake.lock:
                    fake.requests.append(
                        Recorded(
                            self.command,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            form,
                        )
                    )

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                self._record(form)
                if self.path != "/v1/checkout/sessions":
                    return self._answer(404, _error("Unrecognized request URL."))
                key = self.headers.get("Idempotency-Key")
                with fake.lock:
                    if key and key in fake.by_idempotency_key:
                        return self._answer(200, fake.by_idempotency_key[key])
                    session = fake.make_session(form, self._owner())
                    if key:
                        fake.by_idempotency_key[key] = session
                return self._answer(200, session)

            def _owner(self) -> tuple[str, str]:
                key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                return key, self.headers.get("Stripe-Account") or ""

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                self._record(query)
                if url.path == "/v1/checkout/sessions":
                    return self._answer(200, fake.list_sessions(query, self._owner()))
                if match := INTENT_PATH.match(url.path):
                    intent = fake.intents.get(match.group(1))
                    if intent is None or fake.owners.get(intent["id"]) != self._owner():
                        return self._answer(404, _error("No such payment_intent."))
                    return self._answer(200, intent)
                match = SESSION_PATH.match(url.path)
                session = fake.sessions.get(match.group(1)) if match else None
                if session is None or fake.owners.get(session["id"]) != self._owner():
                    return self._answer(404, _error("No such checkout.session."))
                return self._answer(200, session)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def make_session(self, form: dict[str, str], owner: tuple[str, str] = ("", "")) -> dict:
        items: dict[int, dict[str, str]] = {}
        metadata: dict[str, str] = {}
        for name, value in form.items():
            if match := LINE_ITEM.match(name):
                items.setdefault(int(match.group(1)), {})[match.group(2)] = value
            elif match := METADATA.match(name):
                metadata[match.group(1)] = value
        # The nested names as the library encodes them: line_items[0][price_data][currency].
        amount = sum(
            int(item.get("price_data][unit_amount", 0)) * int(item.get("quantity", 1))
            for item in items.values()
        )
        currencies = {item.get("price_data][currency") for item in items.values()}
        session_id = f"cs_test_{secrets.token_hex(16)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "amount_total": amount,
            "amount_subtotal": amount,
            "currency": currencies.pop() if len(currencies) == 1 else None,
            "metadata": metadata,
            "payment_status": "unpaid",
            "status": "open",
            "payment_intent": None,
            "created": int(time.time()),
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "client_reference_id": form.get("client_reference_id"),
            "url": f"{self.url}/checkout/{session_id}",
            "livemode": False,
        }
        self.sessions[session_id] = session
        self.owners[session_id] = owner
        return session

    def list_sessions(self, query: dict[str, str], owner: tuple[str, str] = ("", "")) -> dict:
        """A page of the account's sessions, newest first, as Stripe lists them."""
        with self.lock:
            newest_first = [
                s for s in reversed(self.sessions.values()) if self.owners.get(s["id"]) == owner
            ]
        newest_first.sort(key=lambda s: s["created"], reverse=True)  # stable: newest made first
        if "created[gte]" in query:
            since = int(query["created[gte]"])
            newest_first = [s for s in newest_first if s["created"] >= since]
        if after := query.get("starting_after"):
            ids = [s["id"] for s in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        limit = int(query.get("limit") or 10)
        return {
            "object": "list",
            "url": "/v1/checkout/sessions",
            "data": newest_first[:limit],
            "has_more": len(newest_first) > limit,
        }

    def mark_paid(self, session_id: str, payment_intent: str | None = None) -> dict:
        """The customer paid on Stripe's page: the session is complete (no webhook sent)."""
        session = self.sessions[session_id]
        intent_id = payment_intent or "pi_test_" + secrets.token_hex(12)
        session.update(payment_status="paid", status="complete", payment_intent=intent_id)
        self.intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"],
            "currency": session["currency"],
            "metadata": dict(session["metadata"]),
            "status": "succeeded",
            "livemode": False,
            "created": int(time.time()),
        }
        self.owners[intent_id] = self.owners[session_id]
        return session

    def account_of(self, object_id: str) -> str:
        """The Connect account (Stripe-Account) a session or payment intent was made on."""
        return self.owners[object_id][1]

    def listings(self) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.method == "GET"
            and r.path.startswith("/v1/checkout/sessions")
            and not SESSION_PATH.match(r.path.split("?")[0])
        ]

    def posted_sessions(self) -> list[Recorded]:
        return [
            r for r in self.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"
        ]


def _error(message: str) -> dict:
    return {"error": {"type": "invalid_request_error", "message": message}}
