"""The specification of an invoice's billable items as a PDF (work/specification.py)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pypdf

from saas.billing.work.specification import Row, Specification, render_specification

D = Decimal


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def spec(rows_per_group: int = 2) -> Specification:
    def rows(text: str) -> tuple[Row, ...]:
        return tuple(
            Row(
                date(2026, 11, 1) + timedelta(days=day - 1),
                f"{text} {day}",
                "FH-A" if day % 2 else "",
                D("1.5"),
                "h",
                D("950.0000"),
                D("1425.00"),
            )
            for day in range(1, rows_per_group + 1)
        )

    return Specification(
        title="Invoice INV-2026-00012",
        language="en",
        currency="NOK",
        seller={"name": "Nordlys Rørlegger AS"},
        buyer_name="Havbris Hotell AS",
        groups=(("Bathroom renovation", rows("Pipes")), ("Support tickets", rows("Boiler check"))),
    )


def test_the_specification_lists_every_item_by_project_with_totals():
    text = text_of(render_specification(spec()))
    assert "Specification: Invoice INV-2026-00012" in text
    assert "Nordlys Rørlegger AS → Havbris Hotell AS" in text
    for expected in (
        "Bathroom renovation",
        "Pipes 1",
        "Pipes 2",
        "Support tickets",
        "Boiler check 2",
        "FH-A",
        "1,425.00",
    ):
        assert expected in text
    assert "Total: NOK5,700.00" in text  # four items of 1,425.00; two subtotals:
    assert text.count("2,850.00") == 2
    assert spec().total == D("5700.00")


def test_a_long_specification_runs_over_pages():
    data = render_specification(spec(rows_per_group=60))
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) > 1
    assert "Boiler check 60" in text_of(data)
