"""PDF rendering time of a sales document: 10, 100 and 1,000 lines.

Renders a realistic invoice (a PNG logo made with Pillow, Polish descriptions with sites
and references, three VAT rates, a discount column, two bank accounts and an EPC QR code)
through ``saas.billing.documents.pdf.render_pdf``: babel formatting, the EPC QR code and
reportlab's platypus layout. No database and no Flask app.

``measure_render()`` returns the medians in milliseconds as ``render_ms_10``,
``render_ms_100`` and ``render_ms_1000`` (5 runs after one warm-up for 10 and 100 lines,
3 runs for 1,000); bench/documents.py merges them into bench/results/documents.json. Run
as a script, it prints them. Targets: 10 lines under 80 ms, 1,000 lines no more than 12
times the 100-line time.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from saas.billing.documents.pdf import render_pdf  # noqa: E402
from saas.billing.documents.printable import (  # noqa: E402
    INVOICE,
    BankDetails,
    Party,
    Printable,
    PrintLine,
    VatRow,
)

SIZES = (10, 100, 1000)
RUNS = {10: 5, 100: 5, 1000: 3}
WARM_UPS = 1

DESCRIPTIONS = (
    "Przegląd instalacji elektrycznej i pomiar rezystancji izolacji",
    "Wymiana źródeł światła LED w hali magazynowej, łącznie z demontażem",
    "Serwis pogwarancyjny pompy ciepła — wymiana filtrów i czyszczenie wymiennika",
    "Dojazd serwisanta (strefa 2), zużyte materiały drobne",
    "Abonament monitoringu alarmowego, łączność GSM/IP, całodobowa obsługa",
    "Konserwacja bramy przesuwnej: smarowanie, regulacja krańcówek, test fotokomórek",
    "Roboczogodzina technika — usuwanie awarii zgłoszonej przez klienta",
    "Dostawa i montaż gaśnic proszkowych 6 kg z legalizacją",
)
UNITS = ("szt.", "godz.", "usł.", "m-c", "km")
RATES = (Decimal("23"), Decimal("8"), Decimal("0"))


def logo_png() -> bytes:
    """A small logo: a coloured badge with two shapes, 240 x 80 pixels."""
    image = Image.new("RGB", (240, 80), "white")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, 76, 76), radius=12, fill=(31, 78, 121))
    draw.ellipse((22, 22, 58, 58), fill=(255, 196, 0))
    draw.rectangle((92, 24, 232, 36), fill=(31, 78, 121))
    draw.rectangle((92, 46, 200, 56), fill=(120, 140, 160))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def sample(lines: int, *, logo: bytes | None = None) -> Printable:
    """An issued EUR invoice from a Polish seller with the given number of lines."""
    rows = []
    by_rate: dict[Decimal, Decimal] = {rate: Decimal(0) for rate in RATES}
    for n in range(1, lines + 1):
        quantity = Decimal(n % 7 + 1) if n % 3 else Decimal("2.5")
        price = Decimal(f"{(n * 37) % 900 + 12}.{n % 100:02d}")
        discount = Decimal("10") if n % 5 == 0 else Decimal("0")
        unit_price = (price * (1 - discount / 100)).quantize(Decimal("0.0001"))
        net = (quantity * unit_price).quantize(Decimal("0.01"))
        rate = RATES[n % 3]
        by_rate[rate] += net
        rows.append(PrintLine(
            position=n, description=DESCRIPTIONS[n % len(DESCRIPTIONS)], quantity=quantity,
            unit=UNITS[n % len(UNITS)], unit_price=unit_price, discount_percent=discount,
            vat_code=f"S{rate}", vat_rate=rate, net=net,
            site=f"S{n % 40:03d} Magazyn Łódź-Widzew" if n % 2 else "",
            reference=f"Zamówienie O-2026-{n % 90 + 1:04d}" if n % 4 == 0 else "",
        ))
    vat_rows = tuple(
        VatRow(code=f"S{rate}", rate=rate, category="standard" if rate else "zero",
               note="" if rate else "Odwrotne obciążenie (art. 17 ust. 1 pkt 8 ustawy o VAT)",
               net=net, vat=(net * rate / 100).quantize(Decimal("0.01")))
        for rate, net in by_rate.items() if net
    )
    net_total = sum((row.net for row in vat_rows), Decimal(0))
    vat_total = sum((row.vat for row in vat_rows), Decimal(0))
    return Printable(
        kind=INVOICE, number="FV/2026/11/0042", language="pl", currency="EUR",
        issue_date=date(2026, 11, 16), delivery_date=date(2026, 11, 13),
        due_date=date(2026, 11, 30), payment_terms_days=14,
        payment_reference="RF18539007547034",
        seller=Party(name="Żółty Żuraw Serwis Sp. z o.o.",
                     address_lines=("ul. Świętokrzyska 12 lok. 4", "00-916 Warszawa"),
                     country="PL", org_number="KRS 0000123456", vat_id="PL5261040828",
                     email="faktury@zuraw.example", phone="+48 22 123 45 67"),
        buyer=Party(name="Śląskie Zakłady Łączności S.A.",
                    address_lines=("ul. Ogrodowa 58", "40-001 Katowice"), country="PL",
                    org_number="KRS 0000654321", vat_id="PL6340197543"),
        lines=tuple(rows), vat_rows=vat_rows, net_total=net_total, vat_total=vat_total,
        gross_total=net_total + vat_total,
        bank_accounts=(
            BankDetails(label="mBank", iban="PL61109010140000071219812874", bic="BREXPLPW",
                        currency="PLN"),
            BankDetails(label="mBank EUR", iban="DE89370400440532013000", bic="COBADEFFXXX",
                        currency="EUR"),
        ),
        logo=logo, logo_mime="image/png" if logo else None,
        footer_text="Żółty Żuraw Serwis Sp. z o.o. · Sąd Rejonowy dla m.st. Warszawy, "
                    "XII Wydział Gospodarczy KRS · kapitał zakładowy 50 000 zł",
        notes="Dziękujemy za współpracę.\nProsimy o podanie numeru faktury w tytule przelewu.",
        references=(("Order", "O-2026-0042"),),
        tenant_currency="PLN", exchange_rate=Decimal("4.2512"),
    )


def _median_ms(printable: Printable, runs: int, warm_ups: int) -> float:
    for _ in range(warm_ups):
        render_pdf(printable)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        render_pdf(printable)
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def measure_render() -> dict[str, float]:
    """Median render times in ms: render_ms_10, render_ms_100, render_ms_1000."""
    logo = logo_png()
    # One render first, so that the first measured size does not pay for loading the
    # fonts and importing reportlab's modules.
    render_pdf(sample(1, logo=logo))
    return {
        f"render_ms_{size}": _median_ms(sample(size, logo=logo), RUNS[size],
                                        WARM_UPS if size < 1000 else 0)
        for size in SIZES
    }


if __name__ == "__main__":
    print(json.dumps(measure_render(), indent=2))
