"""The PDF of sales documents: made from plain values, read back with pypdf.

No database and no Flask app: ``render_pdf`` is called bare, as the benchmark does.
Each document is rendered once per module (rendering costs tens of milliseconds a page).
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from PIL import Image

from saas.billing.documents import i18n, pdf
from saas.billing.documents.printable import (
    CREDIT_NOTE,
    INVOICE,
    QUOTE,
    BankDetails,
    Party,
    Printable,
    PrintLine,
    VatRow,
)

LETTERS = "ąęłńóśźż čřž æøå șț"
EUR_ACCOUNT = BankDetails(label="Main", iban="DE89370400440532013000", bic="COBADEFFXXX",
                          currency="EUR")


def logo_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (240, 80), (31, 78, 121)).save(out, format="PNG")
    return out.getvalue()


def line(n: int, description: str = "Consulting", **kw) -> PrintLine:
    values = dict(position=n, description=description, quantity=Decimal("2"), unit="h",
                  unit_price=Decimal("617.28"), discount_percent=Decimal("0"), vat_code="S",
                  vat_rate=Decimal("25"), net=Decimal("1234.56"))
    values.update(kw)
    return PrintLine(**values)


def printable(**kw) -> Printable:
    lines = kw.pop("lines", (line(1),))
    net = sum((item.net for item in lines), Decimal(0))
    vat = (net / 4).quantize(Decimal("0.01"))
    values = dict(
        kind=INVOICE, number="INV-2026-0042", language="en", currency="EUR",
        issue_date=date(2026, 11, 16), due_date=date(2026, 11, 30), payment_terms_days=14,
        seller=Party(name="Seller Ltd", address_lines=("1 High Street", "AB1 2CD Leeds"),
                     country="GB", org_number="01234567", vat_id="GB123456789"),
        buyer=Party(name="Buyer AS", address_lines=("Storgata 1", "0155 Oslo"), country="NO",
                    vat_id="NO923609016MVA"),
        lines=lines,
        vat_rows=(VatRow(code="S", rate=Decimal("25"), category="standard", note="",
                         net=net, vat=vat),),
        net_total=net, vat_total=vat, gross_total=net + vat,
        payment_reference="RF18539007547034", bank_accounts=(EUR_ACCOUNT,),
        footer_text="Seller Ltd · Registered in England",
    )
    values.update(kw)
    return Printable(**values)


def pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def text(data: bytes) -> str:
    return "\n".join(pages(data))


def image_sizes(data: bytes) -> list[tuple[int, int]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [image.image.size for page in reader.pages for image in page.images]


def fill_colours(data: bytes) -> set[str]:
    """The fill colours (#rrggbb) the pages' content streams set: text and backgrounds."""
    colours = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        stream = page.get_contents().get_data().decode("latin-1")
        for rgb in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) rg\b", stream):
            colours.add("#" + "".join(f"{round(float(v) * 255):02x}" for v in rgb))
    return colours


def plain(value: str) -> str:
    """Babel's no-break and narrow spaces read back from the PDF as plain spaces."""
    return value.replace("\xa0", " ").replace("\u202f", " ")


# --- A Polish invoice with everything on it -------------------------------------------

POLISH = printable(
    language="pl", number="FV/2026/11/0042",
    buyer=Party(name=f"Ząbkowski {LETTERS}", address_lines=("ul. Łąkowa 3", "90-001 Łódź"),
                country="PL", org_number="KRS 0000012345", vat_id="PL5261040828"),
    lines=(
        line(1, f"Usługa {LETTERS}", site="S001 Magazyn Łódź", reference="Zamówienie O-7",
             discount_percent=Decimal("10"), quantity=Decimal("2.5"), unit="godz."),
        line(2, "Dojazd", vat_rate=Decimal("0"), net=Decimal("100.00"),
             reference="Order confirmation O-2026-0003"),
    ),
    vat_rows=(
        VatRow(code="S23", rate=Decimal("23"), category="standard", note="",
               net=Decimal("1234.56"), vat=Decimal("283.95")),
        VatRow(code="RC", rate=Decimal("0"), category="reverse_charge",
               note="Odwrotne obciążenie", net=Decimal("100.00"), vat=Decimal("0.00")),
    ),
    net_total=Decimal("1334.56"), vat_total=Decimal("283.95"), gross_total=Decimal("1618.51"),
    delivery_date=date(2026, 11, 13),
    tenant_currency="PLN", exchange_rate=Decimal("4.2512"),
    vat_total_in_tenant_currency=Decimal("1207.13"),
    balance=Decimal("250.00"), payment_demand=True,
    references=(("Order", "O-2026-0007"),),
    notes="Dziękujemy.\n<b>not bold</b>", extra={"PO number": "PO-77"},
)


@pytest.fixture(scope="module")
def polish_pdf() -> bytes:
    return pdf.render_pdf(POLISH)


def test_the_number_title_and_parties_are_printed(polish_pdf):
    content = text(polish_pdf)
    assert polish_pdf.startswith(b"%PDF-")
    assert "Faktura" in content
    assert "FV/2026/11/0042" in content
    for value in ("Seller Ltd", "1 High Street", "GB123456789", "01234567",
                  "ul. Łąkowa 3", "90-001 Łódź", "PL5261040828", "KRS 0000012345"):
        assert value in content
    assert "Polska" in content and "Wielka Brytania" in content  # countries, in Polish


def test_letters_of_every_language_survive_extraction(polish_pdf):
    content = text(polish_pdf)
    assert f"Ząbkowski {LETTERS}" in content
    assert f"Usługa {LETTERS}" in content


def test_the_font_is_embedded_and_not_refused(polish_pdf):
    reader = pypdf.PdfReader(io.BytesIO(polish_pdf))
    fonts = {str(font.get_object()["/BaseFont"])
             for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("SourceSansPro" in font for font in fonts)


def test_amounts_are_formatted_for_the_locale(polish_pdf):
    content = text(polish_pdf)
    assert plain(format_currency(Decimal("1618.51"), "EUR", locale="pl_PL")) in content
    assert plain(format_currency(Decimal("1334.56"), "EUR", locale="pl_PL")) in content
    assert plain(format_decimal(Decimal("1234.56"), format="#,##0.00", locale="pl_PL")) in content
    assert "1 234,56" in content  # the Polish look, to be sure
    assert "617,28" in content  # unit price exclusive of VAT
    assert "2,5" in content  # quantity
    assert "10%" in content  # discount column shown when a line has one
    assert "23%" in content and "0%" in content


def test_art_226_fields_are_present(polish_pdf):
    content = " ".join(text(polish_pdf).split())  # header cells wrap their labels
    for label in ("Data wystawienia", "Data dostawy / wykonania usługi", "Termin płatności",
                  "NIP", "Cena jedn. netto", "Stawka VAT", "Podsumowanie VAT",
                  "Razem brutto"):
        assert label in content
    assert "13 lis 2026" in content and "16 lis 2026" in content
    assert "Odwrotne obciążenie" in content  # the note of the reverse-charge row
    assert "S001 Magazyn Łódź" in content and "Zamówienie O-7" in content
    assert "Zamówienie: O-2026-0007" in content  # the reference, its label translated
    assert "Potwierdzenie zamówienia O-2026-0003" in content  # a line's reference too


def test_vat_in_the_tenant_currency_is_printed_with_the_rate(polish_pdf):
    content = text(polish_pdf)
    assert "1 EUR = 4,2512 PLN" in content
    assert "Kwota VAT w PLN" in content
    assert plain(format_currency(Decimal("1207.13"), "PLN", locale="pl_PL")) in content


def test_balance_and_payment_demand(polish_pdf):
    content = " ".join(text(polish_pdf).split())
    due = plain(format_currency(Decimal("1868.51"), "EUR", locale="pl_PL"))
    assert "Saldo przed tą fakturą" in content
    assert "Razem do zapłaty z saldem" in content
    assert "Wezwanie do zapłaty" in content
    assert f"Prosimy o zapłatę łącznej kwoty {due} do dnia 30 lis 2026." in content


def test_payment_block_notes_and_extra(polish_pdf):
    content = text(polish_pdf)
    assert "DE89 3704 0044 0532 0130 00" in content
    assert "COBADEFFXXX" in content
    # An RF reference is printed in groups of four, labelled as one.
    assert "Referencja (RF): RF18 5390 0754 7034" in content
    assert "14 dni" in content
    assert "Dziękujemy." in content
    assert "<b>not bold</b>" in content  # user text is escaped, not markup
    assert "PO number: PO-77" in content
    assert "Strona 1" in content
    assert "Seller Ltd · Registered in England" in content


def test_eur_invoice_with_an_iban_has_the_qr_code(polish_pdf):
    sizes = image_sizes(polish_pdf)
    assert len(sizes) == 1  # no logo here: the one image is the QR code
    width, height = sizes[0]
    assert width == height
    assert "Zeskanuj, aby zapłacić" in text(polish_pdf)


def test_the_qr_code_asks_for_the_total_due_including_the_balance():
    payload = pdf.epc_payload(POLISH)
    assert payload is not None
    assert payload.split("\n")[5:10] == [
        "Seller Ltd", "DE89370400440532013000", "EUR1868.51", "", "RF18539007547034",
    ]


# --- Other documents ------------------------------------------------------------------


def test_multi_page_document_repeats_the_header_and_numbers_pages():
    lines = tuple(line(n, f"Line {n} description") for n in range(1, 121))
    data = pdf.render_pdf(printable(lines=lines))
    texts = pages(data)
    assert len(texts) >= 3
    for number, page in enumerate(texts, start=1):
        assert f"Page {number}" in page
    second = texts[1]
    assert "Description" in second and "Unit price" in second  # the repeated header row
    assert "VAT rate" in second
    assert "Line 60 description" in "\n".join(texts)
    assert "Line 120 description" in texts[-1] or "Line 120 description" in texts[-2]


def test_a_draft_says_draft_and_a_quote_its_validity():
    data = pdf.render_pdf(printable(
        kind=QUOTE, number="", valid_until=date(2026, 12, 31), due_date=None,
        payment_terms_days=None, logo=logo_png(), logo_mime="image/png",
    ))
    content = text(data)
    assert "Quote" in content
    assert "DRAFT" in content
    assert "Valid until: 31 Dec 2026" in content
    assert "Payment terms" not in content  # no payment block on a quote
    assert image_sizes(data) == [(240, 80)]  # the logo; a quote has no QR code


def test_a_credit_note_never_has_a_qr_code():
    data = pdf.render_pdf(printable(
        kind=CREDIT_NOTE, number="CN-2026-0003", references=(("Invoice", "INV-2026-0007"),),
    ))
    content = text(data)
    assert "Credit note" in content
    assert "Credit note for invoice INV-2026-0007" in content
    assert image_sizes(data) == []


def test_a_nok_invoice_has_no_qr_code_and_norwegian_labels():
    data = pdf.render_pdf(printable(
        language="nb", currency="NOK", payment_reference="1234567890128",
        reference_scheme="kid_mod10",
        bank_accounts=(BankDetails(bban="86011117947", currency="NOK"),),
    ))
    content = text(data)
    assert image_sizes(data) == []
    assert "KID: 1234567890128" in content
    assert "Faktura" in content and "Forfallsdato" in content and "Side 1" in content
    assert "Kontonummer: 86011117947" in content
    assert plain(format_currency(Decimal("1543.20"), "NOK", locale="nb_NO")) in content


@pytest.mark.parametrize(("language", "labels"), [
    ("cs", ("Datum vystavení", "Odběratel", "Sazba DPH", "Strana 1")),
    ("sr", ("Datum izdavanja", "Kupac", "Stopa PDV", "Strana 1")),
    ("ro", ("Data emiterii", "Cumpărător", "Cota TVA", "Pagina 1")),
])
def test_labels_are_translated(language, labels):
    content = text(pdf.render_pdf(printable(language=language)))
    for label in labels:
        assert label in content


# --- Without rendering a PDF ----------------------------------------------------------


def test_qr_code_rules():
    assert pdf.epc_payload(printable()) is not None
    assert pdf.epc_payload(printable(kind=CREDIT_NOTE)) is None
    assert pdf.epc_payload(printable(kind=QUOTE)) is None
    assert pdf.epc_payload(printable(currency="NOK")) is None
    assert pdf.epc_payload(printable(bank_accounts=(BankDetails(bban="123"),))) is None
    zero = printable(net_total=Decimal(0), vat_total=Decimal(0), gross_total=Decimal(0))
    assert pdf.epc_payload(zero) is None
    # An IBAN that does not validate leaves the QR code out instead of failing the PDF.
    broken = BankDetails(iban="DE00370400440532013000")
    assert pdf.epc_payload(printable(bank_accounts=(broken,))) is None
    # Without a structured reference the document number is the remittance text.
    payload = pdf.epc_payload(printable(payment_reference=""))
    assert payload is not None and payload.endswith("\n\n\nINV-2026-0042")


@pytest.mark.parametrize(("scheme", "reference", "label", "printed"), [
    ("kid_mod10", "1000100428", "KID", "1000100428"),
    ("kid_mod11", "1000005-", "KID", "1000005-"),
    ("rf", "RF18539007547034", "Reference (RF)", "RF18 5390 0754 7034"),
    ("invoice_number", "INV-2026-0042", "Invoice number as reference", "INV-2026-0042"),
    ("invoice_number", "PO 4711", "Payment reference", "PO 4711"),  # typed by hand
    ("", "INV-2026-0042", "Invoice number as reference", "INV-2026-0042"),  # issued before
])
def test_the_reference_is_labelled_by_the_scheme_it_was_made_by(scheme, reference, label,
                                                                 printed):
    c = pdf.context(printable(payment_reference=reference, reference_scheme=scheme))
    assert c["reference"] == (label, printed)
    assert pdf.context(printable(kind=CREDIT_NOTE, payment_reference=reference))[
        "reference"] is None  # a credit note has no payment block


@pytest.mark.parametrize(("scheme", "reference", "structured", "text"), [
    ("rf", "RF18539007547034", "RF18539007547034", ""),
    ("kid_mod10", "1000100428", "", "1000100428"),
    ("invoice_number", "INV-2026-0042", "", "INV-2026-0042"),
])
def test_the_qr_code_carries_an_rf_reference_structured_and_others_as_text(
    scheme, reference, structured, text
):
    payload = pdf.epc_payload(printable(payment_reference=reference, reference_scheme=scheme))
    elements = payload.split("\n") + [""] * 3  # trailing empty elements are left out
    assert (elements[9], elements[10]) == (structured, text)


def test_user_text_and_colour_cannot_inject_markup():
    data = pdf.render_pdf(printable(
        buyer=Party(name='<img src="/etc/passwd">'), notes="</para><pdf:nextpage>",
        primary_color="red; } body { color: red", bank_accounts=(),  # no QR code
    ))
    content = text(data)
    assert '<img src="/etc/passwd">' in content  # printed, not an image tag
    assert "</para><pdf:nextpage>" in content
    assert image_sizes(data) == []
    assert pdf.context(printable(primary_color="red; }"))["color"] == pdf.DEFAULT_COLOR
    assert pdf.DEFAULT_COLOR in fill_colours(data)


def test_user_text_with_ampersands_and_angle_brackets_prints_literally():
    name = "A & B <Ltd>"
    data = pdf.render_pdf(printable(
        seller=Party(name=f"Seller {name}", address_lines=("1 <High> & Low Street",)),
        buyer=Party(name=name, address_lines=("Storgata 1 &amp; 2",), country="NO",
                    email="a&b@example.com"),
        lines=(line(1, f"Work for {name}", site="S1 <Depot> & Yard",
                    reference="PO <7> & 8"),),
        vat_rows=(VatRow(code="E", rate=Decimal("0"), category="exempt",
                         note="Exempt <art. 132> & more", net=Decimal("1234.56"),
                         vat=Decimal("0")),),
        payment_reference="Ref <1> & 2", notes=f"Thanks, {name}",
        extra={"<Label> & co": "<value> & co"},
        bank_accounts=(BankDetails(label="Bank <EUR> & co", iban=EUR_ACCOUNT.iban,
                                   currency="EUR"),),
        footer_text=f"{name} · Registered <somewhere>",
    ))
    content = text(data)
    for value in (name, "Seller A & B <Ltd>", "1 <High> & Low Street", "Storgata 1 &amp; 2",
                  "a&b@example.com", f"Work for {name}", "S1 <Depot> & Yard · PO <7> & 8",
                  "Exempt <art. 132> & more", "Ref <1> & 2", f"Thanks, {name}",
                  "<Label> & co: <value> & co", "Bank <EUR> & co (EUR): IBAN",
                  "A & B <Ltd> · Registered <somewhere>"):
        assert value in content, value


def test_a_description_longer_than_a_page_is_split_inside_its_row():
    words = " ".join(f"word{n}" for n in range(2500))
    texts = pages(pdf.render_pdf(printable(lines=(line(1, words), line(2, "After")))))
    assert len(texts) >= 2
    content = " ".join("\n".join(texts).split())
    assert "word0 " in content and "word2499" in content and "After" in content


def test_a_logo_that_is_not_an_image_is_left_out():
    assert pdf._logo(printable(logo=b"not an image", logo_mime="image/png")) is None
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    assert pdf._logo(printable(logo=gif.getvalue(), logo_mime="image/png")) is None
    png = logo_png()
    assert pdf._logo(printable(logo=png[:150], logo_mime="image/png")) is None  # truncated
    logo = pdf._logo(printable(logo=png, logo_mime="image/jpeg"))
    assert logo is not None and logo.data == png  # the image's own format, not the mime
    assert (logo.width, logo.height) == (150.0, 50.0)  # fitted into 150 x 60 points


def test_primary_colour_is_used_for_headings_and_the_header_row():
    data = pdf.render_pdf(printable(primary_color="#A1B2C3"))
    assert "#a1b2c3" in fill_colours(data)
    assert pdf.DEFAULT_COLOR not in fill_colours(data)
    # Three hex digits are the short form, not a dark blue.
    assert pdf.context(printable(primary_color="#abc"))["color"] == "#aabbcc"


def test_unknown_language_falls_back_to_english():
    assert i18n.language_of("de") == "en"
    assert i18n.language_of("pl-PL") == "pl"
    assert i18n.language_of("no") == "nb"
    assert pdf.context(printable(language="de"))["title"] == "Invoice"


@pytest.mark.parametrize("language", sorted(set(i18n.LOCALES) - {"en"}))
def test_every_catalogue_translates_every_label(language):
    with i18n.catalogue_path(language).open("rb") as po:
        catalog = read_po(po)
    with i18n.catalogue_path("pl").open("rb") as po:
        reference = {message.id if isinstance(message.id, str) else message.id[0]
                     for message in read_po(po) if message.id}
    ids = set()
    for message in catalog:
        if not message.id:
            continue
        ids.add(message.id if isinstance(message.id, str) else message.id[0])
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: {message.id!r} is not translated"
        for placeholder in re.findall(r"%\(\w+\)[sd]", str(message.id)):
            assert all(placeholder in string for string in strings), message.id
    assert ids == reference


def test_plural_forms_follow_the_language():
    polish = i18n.Formatter.for_language("pl")
    assert [polish.ngettext("%(num)d day", "%(num)d days", n) for n in (1, 3, 14, 22)] == [
        "1 dzień", "3 dni", "14 dni", "22 dni"]
    czech = i18n.Formatter.for_language("cs")
    assert [czech.ngettext("%(num)d day", "%(num)d days", n) for n in (1, 3, 14)] == [
        "1 den", "3 dny", "14 dní"]


def test_formatting_uses_each_locale():
    decimal = Decimal("1234.56")
    for language, locale in i18n.LOCALES.items():
        f = i18n.Formatter.for_language(language)
        assert f.money(decimal, "EUR") == format_currency(decimal, "EUR", locale=locale)
        assert f.amount(decimal, "EUR") == format_decimal(decimal, format="#,##0.00",
                                                         locale=locale)
    serbian = i18n.Formatter.for_language("sr")
    assert serbian.amount(decimal, "EUR") == "1.234,56"
    assert serbian.locale_name == "sr_Latn_RS"
    assert i18n.Formatter.for_language("pl").unit_price(Decimal("0.125"), "PLN") == "0,125"
    assert i18n.Formatter.for_language("en").amount(Decimal("1234"), "JPY") == "1,234"
    assert i18n.Formatter.for_language("en").quantity(Decimal("2.500")) == "2.5"


def test_render_needs_no_flask_app():
    from flask import has_app_context

    assert not has_app_context()
    assert pdf.render_pdf(replace(POLISH, language="ro")).startswith(b"%PDF-")
