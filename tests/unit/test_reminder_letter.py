"""The payment reminder and payment demand letter: made from plain values, read back with pypdf.

No database and no Flask app: ``render_letter`` is called bare, as the reminder job does.
"""

from __future__ import annotations

import ast
import io
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from saas.billing.documents import i18n
from saas.billing.reminders.letter import (
    DEMAND,
    FRIENDLY,
    REMINDER,
    DemandLetter,
    OpenItem,
    render_letter,
    wording,
)

LETTERS = "ąęłńóśźż čřž æøå șț"
ROOT = Path(__file__).resolve().parents[2]

SELLER = {
    "name": "Biuro Rachunkowe Łódź Sp. z o.o.",
    "address_lines": ["ul. Piotrkowska 1", "90-001 Łódź"],
    "country": "PL", "org_number": "KRS 0000012345", "vat_id": "PL5261040828",
    "bank_accounts": [
        {"label": "Główny", "iban": "PL61109010140000071219812874", "bic": "WBKPPLPP",
         "bban": "", "currency": "PLN"},
        {"label": "EUR", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "bban": "",
         "currency": "EUR"},
    ],
    "primary_color": "#aa3300", "footer_text": "Biuro Rachunkowe Łódź · KRS 0000012345",
    "logo_sha256": None,
}
BUYER = {
    "customer_number": 10042, "name": f"Ząbkowski {LETTERS}",
    "address_lines": ["ul. Łąkowa 3", "90-002 Łódź"], "country": "PL", "org_number": "",
    "vat_id": "PL7740001454", "email": "faktury@zabkowski.example",
}


def plain(value: str) -> str:
    """Babel's no-break and narrow spaces read back from the PDF as plain spaces."""
    return value.replace("\xa0", " ").replace("\u202f", " ")


def pages(data: bytes) -> list[str]:
    return [plain(page.extract_text()) for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def text(data: bytes) -> str:
    """All the text, lines joined: a table cell or a sentence may wrap anywhere."""
    return " ".join("\n".join(pages(data)).split())


POLISH_DEMAND = DemandLetter(
    language="pl", currency="PLN", tone=DEMAND, level_name="Ostateczne wezwanie",
    message="", letter_date=date(2026, 12, 1), seller=SELLER, buyer=BUYER,
    invoice_number="FV/2026/10/0042", invoice_due=date(2026, 10, 31),
    items=(
        OpenItem("FV/2026/10/0042", date(2026, 10, 17), date(2026, 10, 31),
                 Decimal("1234.56"), 31),
        OpenItem("FV/2026/11/0007", date(2026, 11, 20), date(2026, 12, 4),
                 Decimal("500.05"), 0),
    ),
    fee=Decimal("40.00"), interest=Decimal("11.80"), interest_days=31,
    interest_rate=Decimal("11.25"), payment_reference="RF18539007547034",
)

ENGLISH_FRIENDLY = DemandLetter(
    language="en", currency="EUR", tone=FRIENDLY, level_name="Courtesy note", message="",
    letter_date=date(2026, 11, 28), seller={**SELLER, "name": "Seller Ltd"},
    buyer={**BUYER, "name": "Buyer GmbH", "country": "DE"},
    invoice_number="INV-2026-0100", invoice_due=date(2026, 11, 30),
    items=(OpenItem("INV-2026-0100", date(2026, 11, 16), date(2026, 11, 30),
                    Decimal("99.90"), 0),),
    fee=Decimal(0), interest=Decimal(0), interest_days=0, interest_rate=Decimal("8"),
)


@pytest.fixture(scope="module")
def polish_pdf() -> bytes:
    return render_letter(POLISH_DEMAND)


@pytest.fixture(scope="module")
def english_pdf() -> bytes:
    return render_letter(ENGLISH_FRIENDLY)


def test_the_total_due_is_the_open_items_plus_fee_and_interest_exactly():
    assert POLISH_DEMAND.open_total == Decimal("1734.61")
    assert POLISH_DEMAND.total_due == Decimal("1786.41")
    assert isinstance(POLISH_DEMAND.total_due, Decimal)


def test_a_polish_demand_is_titled_and_lists_every_open_invoice(polish_pdf):
    content = text(polish_pdf)
    assert polish_pdf.startswith(b"%PDF-")
    assert "Wezwanie do zapłaty" in content
    assert "Ostateczne wezwanie" in content  # the level as the tenant named it
    assert "FV/2026/10/0042" in content and "FV/2026/11/0007" in content
    assert "31 paź 2026" in content  # a due date, the Polish way


def test_a_polish_demand_prints_the_total_due_formatted_for_the_locale(polish_pdf):
    content = text(polish_pdf)
    total = plain(format_currency(Decimal("1786.41"), "PLN", locale="pl_PL"))
    assert total == "1 786,41 zł"
    assert f"Razem do zapłaty {total}" in content
    assert plain(format_currency(Decimal("1734.61"), "PLN", locale="pl_PL")) in content


def test_fee_and_interest_are_separate_charges_not_changes_to_the_invoice(polish_pdf):
    content = text(polish_pdf)
    assert "Opłata za upomnienie 40,00 zł" in content
    assert "Odsetki za opóźnienie (za 31 dni według stopy 11,25% w skali roku) 11,80 zł" \
        in content
    assert "same faktury pozostają bez zmian" in content
    assert "1 234,56 zł" in content  # the invoice's own amount, as it was


def test_polish_letters_survive_text_extraction(polish_pdf):
    content = text(polish_pdf)
    assert f"Ząbkowski {LETTERS}" in content
    assert "ul. Łąkowa 3" in content and "90-002 Łódź" in content
    assert "Biuro Rachunkowe Łódź Sp. z o.o." in content


def test_the_demand_warns_of_debt_collection_after_seven_days(polish_pdf):
    content = text(polish_pdf)
    assert "w terminie 7 dni od daty niniejszego pisma" in content
    assert "windykacji" in content
    assert "prosimy uznać niniejsze przypomnienie za bezprzedmiotowe" not in content


def test_payment_details_give_the_account_in_the_letters_currency_and_the_reference(
    polish_pdf,
):
    content = text(polish_pdf)
    assert "PL61 1090 1014 0000 0712 1981 2874" in content and "WBKPPLPP" in content
    assert "DE89" not in content  # the euro account is not for a złoty letter
    assert "Tytuł przelewu: RF18539007547034" in content


def test_the_buyers_address_sits_in_the_window_of_a_din_5008_envelope(polish_pdf):
    page = pypdf.PdfReader(io.BytesIO(polish_pdf)).pages[0]
    placed: dict[str, tuple[float, float]] = {}

    def visit(found, cm, tm, font, size):
        placed.setdefault(found.strip(), (tm[4], tm[5]))

    page.extract_text(visitor_text=visit)
    x, y = placed[BUYER["name"]]
    from_top = A4[1] - y
    assert 19 * mm < x < 25 * mm
    assert 45 * mm < from_top < 90 * mm
    _, city_y = placed["90-002 Łódź"]
    assert A4[1] - city_y < 90 * mm


def test_an_english_friendly_letter_has_no_fee_or_interest_rows(english_pdf):
    content = text(english_pdf)
    assert "Payment reminder" in content
    assert "Courtesy note" in content
    assert "Reminder fee" not in content
    assert "Interest" not in content
    assert "Open invoices" not in content  # no subtotal when nothing is added to it
    assert "Total due €99.90" in content
    assert "If you have already paid, please disregard this reminder." in content
    assert "debt collection" not in content


def test_a_friendly_letter_asks_for_payment_by_the_due_date(english_pdf):
    content = text(english_pdf)
    assert "We kindly ask you to pay the total due of €99.90 by 30 Nov 2026." in content
    assert "Page 1" in content


def test_a_norwegian_reminder_uses_norwegian_wording():
    letter = replace(
        POLISH_DEMAND, language="nb", currency="NOK", tone=REMINDER, level_name="Purring 1",
        seller={**SELLER, "bank_accounts": [{"label": "", "iban": "NO9386011117947",
                                             "bic": "DNBANOKKXXX", "bban": "",
                                             "currency": "NOK"}]},
        buyer={**BUYER, "name": "Kunde AS", "country": "NO"},
        fee=Decimal("35.00"), interest=Decimal("12.40"), interest_rate=Decimal("12.5"),
        payment_reference="",
    )
    content = text(render_letter(letter))
    assert "Betalingspåminnelse" in content
    assert "ikke betalt innen forfallsdato" in content
    assert "Purregebyr" in content and "Forsinkelsesrente" in content
    assert "31 dager med 12,5 % rente per år" in content
    assert "Totalt å betale" in content
    assert "Dersom beløpet allerede er betalt" in content
    assert "Oppgi fakturanummeret ved betaling." in content  # no payment reference given
    assert "Norge" in content  # the buyer's country, in Norwegian
    assert "Wezwanie" not in content and "Opłata" not in content


def test_the_tenants_own_message_replaces_the_built_in_opening():
    letter = replace(ENGLISH_FRIENDLY, tone=REMINDER,
                     message="Our records show an open balance.\nPlease settle it.")
    content = text(render_letter(letter))
    assert "Our records show an open balance. Please settle it." in content
    assert "According to our records" not in content


def test_user_text_is_printed_as_written_not_as_markup():
    letter = replace(ENGLISH_FRIENDLY, level_name="<b>Level</b> & more",
                     buyer={**BUYER, "name": "A & B <Ltd>"})
    content = text(render_letter(letter))
    assert "<b>Level</b> & more" in content
    assert "A & B <Ltd>" in content


def test_many_open_items_flow_onto_further_pages_with_the_header_repeated():
    items = tuple(OpenItem(f"INV-2026-{n:04d}", date(2026, 1, 1), date(2026, 1, 15),
                           Decimal("10.00"), 300) for n in range(1, 91))
    data = render_letter(replace(ENGLISH_FRIENDLY, tone=REMINDER, items=items))
    texts = pages(data)
    assert len(texts) >= 2
    assert "Days overdue" in texts[1]  # the repeated header row
    assert "INV-2026-0090" in "\n".join(texts)
    assert f"Page {len(texts)}" in texts[-1]
    assert "Total due €900.00" in text(data)


@pytest.mark.parametrize("tone, title", [
    (FRIENDLY, "Przypomnienie o płatności"),
    (REMINDER, "Przypomnienie o płatności"),
    (DEMAND, "Wezwanie do zapłaty"),
])
def test_the_title_follows_the_tone(tone, title):
    assert wording(replace(POLISH_DEMAND, tone=tone)).title == title


# --- Every label is translated ------------------------------------------------------------

SOURCES = [ROOT / "saas/billing/reminders/letter.py", ROOT / "saas/billing/documents/emails.py"]
TEMPLATES = sorted((ROOT / "saas/templates/emails").glob("*"))
CUSTOMER_TEMPLATES = [path for path in TEMPLATES if not path.name.startswith("unpaid_notice")]
FIXED_LABELS = {"Payment reminder", "Payment demand"}  # looked up through TITLES


def used_messages() -> set[str | tuple[str, str]]:
    """The msgids the letter and the e-mails pass to gettext/ngettext (and ``_`` in templates)."""
    found: set[str | tuple[str, str]] = set(FIXED_LABELS)
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            strings = [arg.value for arg in node.args
                       if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
            if node.func.attr == "gettext" and strings:
                found.add(strings[0])
            elif node.func.attr == "ngettext" and len(strings) >= 2:
                found.add((strings[0], strings[1]))
    for path in CUSTOMER_TEMPLATES:
        found.update(re.findall(r'_\("([^"]+)"\)', path.read_text()))
    # Labels chosen by a variable (the button, the kind's title) are listed in the module.
    found.update({"View and pay online", "View online"})
    return found


@pytest.mark.parametrize("language", ["pl", "cs", "nb", "sr", "ro"])
def test_every_label_of_letters_and_emails_is_translated(language):
    with i18n.catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=i18n.LOCALES[language])
    translated = {
        (message.id if isinstance(message.id, str) else tuple(message.id))
        for message in catalog
        if message.id and (all(message.string) if isinstance(message.string, tuple)
                           else message.string)
    }
    messages = used_messages()
    assert len(messages) > 40  # the walk found the calls
    assert messages - translated == set()
    assert not list(catalog.check())  # placeholders match in every translation
