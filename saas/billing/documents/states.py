"""The kinds of sales document and the state machine of each (pure).

quote        draft → sent → accepted / declined / expired → converted
order        draft → confirmed → partly invoiced → invoiced
proforma     draft → issued → paid → converted (to the final invoice)
invoice      draft → issued → partly paid / paid / credited
credit note  draft → issued

Leaving draft is "issuing": the document gets its number and is frozen from then on.
"""

from __future__ import annotations

import enum


class DocumentKind(enum.StrEnum):
    QUOTE = "quote"
    ORDER = "order"
    PROFORMA = "proforma"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self][0]

    @property
    def plural(self) -> str:
        return _KIND_LABELS[self][1]

    @property
    def slug(self) -> str:
        """The kind in URLs: quotes, orders, proformas, invoices, credit-notes."""
        return _KIND_LABELS[self][2]

    @property
    def issued_status(self) -> DocumentStatus:
        """The state a document of this kind enters when it is issued."""
        return ISSUED_STATUS[self]

    @classmethod
    def from_slug(cls, slug: str) -> DocumentKind | None:
        return next((kind for kind in cls if kind.slug == slug), None)


_KIND_LABELS = {
    DocumentKind.QUOTE: ("Quote", "Quotes", "quotes"),
    DocumentKind.ORDER: ("Order confirmation", "Order confirmations", "orders"),
    DocumentKind.PROFORMA: ("Proforma invoice", "Proforma invoices", "proformas"),
    DocumentKind.INVOICE: ("Invoice", "Invoices", "invoices"),
    DocumentKind.CREDIT_NOTE: ("Credit note", "Credit notes", "credit-notes"),
}


class DocumentStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CONVERTED = "converted"
    CONFIRMED = "confirmed"
    PARTLY_INVOICED = "partly_invoiced"
    INVOICED = "invoiced"
    ISSUED = "issued"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    CREDITED = "credited"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


K, S = DocumentKind, DocumentStatus

ISSUED_STATUS = {
    K.QUOTE: S.SENT,
    K.ORDER: S.CONFIRMED,
    K.PROFORMA: S.ISSUED,
    K.INVOICE: S.ISSUED,
    K.CREDIT_NOTE: S.ISSUED,
}

TRANSITIONS: dict[DocumentKind, dict[DocumentStatus, frozenset[DocumentStatus]]] = {
    K.QUOTE: {
        S.DRAFT: frozenset({S.SENT}),
        S.SENT: frozenset({S.ACCEPTED, S.DECLINED, S.EXPIRED}),
        S.ACCEPTED: frozenset({S.CONVERTED}),
        S.DECLINED: frozenset(),
        S.EXPIRED: frozenset({S.ACCEPTED}),  # a late yes is still a yes
        S.CONVERTED: frozenset(),
    },
    K.ORDER: {
        S.DRAFT: frozenset({S.CONFIRMED}),
        S.CONFIRMED: frozenset({S.PARTLY_INVOICED, S.INVOICED}),
        S.PARTLY_INVOICED: frozenset({S.PARTLY_INVOICED, S.INVOICED, S.CONFIRMED}),
        S.INVOICED: frozenset({S.PARTLY_INVOICED, S.CONFIRMED}),  # after a credit note
    },
    K.PROFORMA: {
        S.DRAFT: frozenset({S.ISSUED}),
        S.ISSUED: frozenset({S.PAID}),
        S.PAID: frozenset({S.CONVERTED}),
        S.CONVERTED: frozenset(),
    },
    K.INVOICE: {
        S.DRAFT: frozenset({S.ISSUED}),
        S.ISSUED: frozenset({S.PARTLY_PAID, S.PAID, S.CREDITED}),
        S.PARTLY_PAID: frozenset({S.PARTLY_PAID, S.PAID, S.CREDITED, S.ISSUED}),
        S.PAID: frozenset({S.PARTLY_PAID, S.ISSUED, S.CREDITED}),
        S.CREDITED: frozenset({S.ISSUED}),
    },
    K.CREDIT_NOTE: {
        S.DRAFT: frozenset({S.ISSUED}),
        S.ISSUED: frozenset(),
    },
}


class TransitionRefused(ValueError):
    """The document cannot move to that state from the one it is in."""


def statuses(kind: DocumentKind) -> tuple[DocumentStatus, ...]:
    """The states a document of this kind can be in, in the order of its life."""
    return tuple(TRANSITIONS[kind])


def check_transition(kind: DocumentKind, current: DocumentStatus, target: DocumentStatus) -> None:
    """Raise TransitionRefused unless a document of the kind may go current → target."""
    allowed = TRANSITIONS[kind].get(current, frozenset())
    if target not in allowed:
        raise TransitionRefused(
            f"{kind.label.lower()} cannot go from {current.label.lower()} to"
            f" {target.label.lower()}"
        )
