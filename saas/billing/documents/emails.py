"""E-mail texts: a sales document's, a payment reminder's, and the unpaid notice to staff.

Each is a subject, a plain-text body and an HTML body rendered from ``templates/emails/``
(the HTML in the tenant's branded layout, ``_layout.html``: inline CSS, its colour as the
header bar, its footer text at the bottom, nothing loaded from elsewhere). What the
customer reads is in the document's language, from the same catalogues as the PDF
(``documents/i18n.py``): the sentences that differ per document kind or reminder tone are
chosen here, the fixed words are translated in the templates through ``_``. Amounts and
dates are formatted for the language's locale.

Rendering needs an app context (``render_template``) and nothing else: no query is made
here beyond a credit note's link to the invoice it corrects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import render_template

from saas.billing.documents.i18n import Formatter
from saas.billing.documents.pdf_content import (
    DEFAULT_COLOR,
    PAYABLE_KINDS,
    TITLES,
    _color,
)
from saas.billing.documents.printable import CREDIT_NOTE, ORDER, PROFORMA, QUOTE
from saas.billing.payments.references import reference_label
from saas.billing.reminders.letter import DEMAND, DemandLetter, bank_rows

BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Brand:
    """How the tenant's e-mails look: the name in the header bar, its colours, the footer."""

    name: str
    color: str  # #rrggbb, checked: it goes into a style attribute
    on_color: str  # the header bar's text colour, readable on ``color``
    footer: str


def _readable_on(color: str) -> str:
    """White on a dark colour, near-black on a light one (WCAG relative luminance)."""
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#ffffff" if luminance < 0.4 else "#222222"


def brand(seller: dict, branding: Any = None) -> Brand:
    """The tenant's current branding when given, else what the document's snapshot says."""
    if branding is not None:
        name = branding.email_sender_name or seller.get("name", "")
        color, footer = branding.primary_color, branding.footer_text
    else:
        name = seller.get("name", "")
        color, footer = seller.get("primary_color"), seller.get("footer_text", "")
    color = _color(color)
    return Brand(name=name, color=color, on_color=_readable_on(color), footer=footer or "")


def _checked_url(url: str | None) -> str | None:
    if url and not url.startswith(("https://", "http://")):
        raise ValueError(f"Not a web address for an e-mail link: {url!r}")
    return url or None


def render_email(template: str, subject: str, context: dict[str, Any]) -> EmailContent:
    """Render ``emails/<template>.txt`` and ``.html`` with the context (and the subject)."""
    context = {"subject": subject, **context}
    return EmailContent(
        subject=subject,
        # Blocks that print nothing leave runs of empty lines behind: one is enough.
        text=BLANK_LINES.sub("\n\n", render_template(f"emails/{template}.txt", **context))
        .strip() + "\n",
        html=render_template(f"emails/{template}.html", **context),
    )


# --- A sales document ------------------------------------------------------------------


def _document_text(document: Any, f: Formatter,
                   online: bool = False) -> tuple[list[str], list[tuple[str, str]]]:
    """The paragraphs and the labelled details that the document's kind calls for.

    ``online``: the e-mail carries a portal link, where a quote is answered.
    """
    kind, number, currency = str(document.kind), document.number or "", document.currency
    amount = f.money(abs(document.gross_total or Decimal(0)), currency)
    due = f.date(document.due_date)
    buyer_name = (document.buyer or {}).get("name", "")
    details = [(f.gettext("Customer"), buyer_name)] if buyer_name else []
    if kind == QUOTE:
        paragraphs = [f.gettext("Please find attached our quote %(number)s.", number=number)]
        if document.valid_until:
            paragraphs.append(f.gettext("The quote is valid until %(date)s.",
                                        date=f.date(document.valid_until)))
        paragraphs.append(
            f.gettext("You can accept or decline the quote online, with the link below.")
            if online else f.gettext("To accept the quote, simply reply to this e-mail."))
        details.append((f.gettext("Total"), amount))
        if document.valid_until:
            details.append((f.gettext("Valid until"), f.date(document.valid_until)))
        return paragraphs, details
    if kind == ORDER:
        paragraphs = [
            f.gettext("Thank you for your order."),
            f.gettext("We hereby confirm it as set out in the attached order confirmation"
                      " %(number)s.", number=number),
        ]
        return paragraphs, [*details, (f.gettext("Total"), amount)]
    if kind == CREDIT_NOTE:
        paragraphs = [
            f.gettext("Please find attached credit note %(number)s.", number=number),
            f.gettext("The amount of %(amount)s has been credited to your account.",
                      amount=amount),
        ]
        source = document.source
        if source is not None and source.number:
            paragraphs.append(f.gettext("The credit note corrects invoice %(number)s.",
                                        number=source.number))
        return paragraphs, [*details, (f.gettext("Amount credited"), amount)]
    if kind == PROFORMA:
        paragraphs = [
            f.gettext("Please find attached proforma invoice %(number)s.", number=number),
            f.gettext("We kindly ask you to pay %(amount)s in advance by %(date)s.",
                      amount=amount, date=due) if due else
            f.gettext("We kindly ask you to pay %(amount)s in advance.", amount=amount),
            f.gettext("The final invoice will follow once we have received your payment."),
        ]
    else:
        paragraphs = [
            f.gettext("Please find attached invoice %(number)s.", number=number),
            f.gettext("We kindly ask you to pay the total due of %(amount)s by %(date)s.",
                      amount=amount, date=due) if due else
            f.gettext("We kindly ask you to pay the total due of %(amount)s without delay.",
                      amount=amount),
        ]
    details.append((f.gettext("Amount due"), amount))
    if due:
        details.append((f.gettext("Due date"), due))
    if document.payment_reference:
        # Labelled as on the PDF ("KID", "Reference (RF)" ...); unspaced, to be copied.
        label = reference_label(document.payment_reference,
                                (document.seller or {}).get("reference_scheme"),
                                document.number)
        details.append((f.gettext(label), document.payment_reference))
    details += bank_rows(document.seller or {}, currency, f)
    return paragraphs, details


def document_email(document: Any, branding: Any = None,
                   portal_url: str | None = None, pay_online: bool = False) -> EmailContent:
    """The e-mail that carries an issued document's PDF, in the document's language.

    ``portal_url`` opens the document in the customer portal; ``pay_online`` says that it
    can be paid there too (the tenant takes online payments), which the button then says.
    """
    f = Formatter.for_language(document.language)
    seller = document.seller or {}
    kind = str(document.kind)
    the_brand = brand(seller, branding)
    title = f"{f.gettext(TITLES.get(kind, 'Invoice'))} {document.number or ''}".strip()
    subject = f.gettext("%(title)s from %(seller)s", title=title,
                        seller=seller.get("name") or the_brand.name)
    paragraphs, details = _document_text(document, f, online=bool(portal_url))
    button = "View and pay online" if pay_online and kind in PAYABLE_KINDS else "View online"
    return render_email("document", subject, {
        "_": f.gettext, "lang": f.language, "brand": the_brand,
        "seller_name": seller.get("name") or the_brand.name,
        "paragraphs": paragraphs, "details": details,
        "portal_url": _checked_url(portal_url), "button_label": f.gettext(button),
    })


# --- A payment reminder ----------------------------------------------------------------


def reminder_email(letter: DemandLetter, branding: Any = None,
                   portal_url: str | None = None) -> EmailContent:
    """The e-mail of a reminder level: the letter's wording, its open items and total due.

    The reminded invoice's PDF and the letter (``render_letter``) go with it as attachments,
    which the text says.
    """
    f = Formatter.for_language(letter.language)
    the_brand = brand(letter.seller, branding)
    seller_name = letter.seller.get("name") or the_brand.name
    if letter.tone == DEMAND:
        subject = f.gettext("Payment demand: invoice %(number)s from %(seller)s",
                            number=letter.invoice_number, seller=seller_name)
    else:
        subject = f.gettext("Payment reminder: invoice %(number)s from %(seller)s",
                            number=letter.invoice_number, seller=seller_name)
    return render_email("reminder", subject, {
        "_": f.gettext, "lang": f.language, "brand": the_brand, "seller_name": seller_name,
        "letter": letter, "w": letter.words,
        "attached": f.gettext("A copy of invoice %(number)s and this reminder as a letter"
                              " (PDF) are attached.", number=letter.invoice_number),
        "portal_url": _checked_url(portal_url), "button_label": f.gettext("View and pay online"),
    })


# --- To the tenant's own staff -----------------------------------------------------------


def unpaid_notice_email(tenant_name: str, rows: list[dict], app_url: str) -> EmailContent:
    """Tell the tenant's staff (in English) who has not paid after the last reminder.

    ``rows`` have ``customer``, ``number``, ``due_date``, ``amount`` (formatted) and ``url``.
    """
    count = len(rows)
    subject = (f"{tenant_name}: {count} invoice{'s' if count != 1 else ''} still unpaid after"
               " the last reminder")
    color = DEFAULT_COLOR
    the_brand = Brand(name=tenant_name, color=color, on_color=_readable_on(color), footer="")
    return render_email("unpaid_notice", subject, {
        "lang": "en", "brand": the_brand, "tenant_name": tenant_name, "rows": rows,
        "app_url": _checked_url(app_url),
    })
