"""The portal speaks the customer's language: every text it shows is in every catalogue,
and each document's state reads as the customer would say it."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po

from saas.billing.documents import i18n
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.portal import documents, links

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [*sorted((ROOT / "saas/templates/portal").glob("*.html")),
             *sorted((ROOT / "saas/templates/emails").glob("portal_sign_in.*")),
             *sorted((ROOT / "saas/templates/emails").glob("portal_receipt.*"))]
SOURCES = sorted((ROOT / "saas/portal").glob("*.py"))
# Calls whose first string is a msgid for the customer.
MSGID_CALLS = {"_gettext", "gettext", "QuoteRefused", "PayRefused"}


def portal_messages() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for path in TEMPLATES:
        found.update(re.findall(r'_\("([^"]+)"\)', path.read_text()))
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            strings = [arg.value for arg in node.args
                       if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
            if name in MSGID_CALLS and strings:
                found.add(strings[0])
            elif name == "ngettext" and len(strings) >= 2:
                found.add((strings[0], strings[1]))
    # Chosen by a variable in the templates: the refusals, the states, the list headings.
    found.update({links.INVALID, links.EXPIRED, links.USED, links.REVOKED})
    found.update(documents.STATUS_WORDS)
    found.update(heading for _, heading in documents.SECTIONS)
    found.add("You can accept or decline the quote online, with the link below.")
    return found


@pytest.mark.parametrize("language", ["pl", "cs", "nb", "sr", "ro"])
def test_every_portal_text_is_translated(language):
    with i18n.catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=i18n.LOCALES[language])
    translated = {
        (message.id if isinstance(message.id, str) else tuple(message.id))
        for message in catalog
        if message.id and (all(message.string) if isinstance(message.string, tuple)
                           else message.string)
    }
    messages = portal_messages()
    assert len(messages) > 50  # the walk found the calls
    assert messages - translated == set()
    assert not list(catalog.check())


TODAY = date(2026, 11, 30)


def doc(kind, status, due=None, valid_until=None):
    return SimpleNamespace(kind=kind, status=status, due_date=due, valid_until=valid_until)


@pytest.mark.parametrize("document, word", [
    (doc(K.INVOICE, S.ISSUED, due=date(2026, 12, 14)), "Open"),
    (doc(K.INVOICE, S.ISSUED, due=date(2026, 11, 29)), "Overdue"),
    (doc(K.INVOICE, S.PARTLY_PAID, due=date(2026, 12, 14)), "Partly paid"),
    (doc(K.INVOICE, S.PARTLY_PAID, due=date(2026, 11, 1)), "Overdue"),
    (doc(K.INVOICE, S.PAID), "Paid"),
    (doc(K.INVOICE, S.CREDITED), "Credited"),
    (doc(K.PROFORMA, S.ISSUED, due=date(2026, 12, 1)), "Open"),
    (doc(K.PROFORMA, S.CONVERTED), "Paid"),
    (doc(K.QUOTE, S.SENT, valid_until=TODAY), "Awaiting your answer"),
    (doc(K.QUOTE, S.SENT, valid_until=date(2026, 11, 29)), "Expired"),
    (doc(K.QUOTE, S.CONVERTED), "Accepted"),
    (doc(K.QUOTE, S.DECLINED), "Declined"),
    (doc(K.ORDER, S.PARTLY_INVOICED), "Confirmed"),
    (doc(K.CREDIT_NOTE, S.ISSUED), "Issued"),
])
def test_a_documents_state_reads_as_its_customer_would_say_it(document, word):
    assert documents.status_word(document, TODAY) == word
    assert word in documents.STATUS_WORDS


def test_only_a_sent_quote_within_its_validity_is_open_to_an_answer():
    assert documents.quote_is_open(doc(K.QUOTE, S.SENT, valid_until=TODAY), TODAY)
    assert documents.quote_is_open(doc(K.QUOTE, S.SENT), TODAY)
    assert not documents.quote_is_open(doc(K.QUOTE, S.SENT, valid_until=date(2026, 11, 1)),
                                       TODAY)
    assert not documents.quote_is_open(doc(K.QUOTE, S.ACCEPTED), TODAY)
    assert not documents.quote_is_open(doc(K.INVOICE, S.SENT), TODAY)


def test_a_token_is_kept_only_as_its_sha256():
    assert links.hash_token("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
