"""Every PDF builder prints user text literally (issue 13): a customer named like markup,
notes with tags, an ``&`` — what a user typed comes out of the PDF as typed, through each
builder: documents, reminder letters, statements, netting statements, work protocols,
legal letters, specifications, automation letters, post batch sheets and bureau print
runs (the report pack, which reads the database: tests/integration/test_sales_reports).

Unescaped, ``<b>`` would vanish into bold, ``<img>`` would be refused by the PDF sandbox
(an error) and ``&`` before a word would be read as an entity.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest

from saas.automations.pdf import TemplateLetter, render_template_letter
from saas.billing.documents import pdf, post
from saas.billing.documents.printable import Party
from saas.billing.dunning.claims import Claim, ClaimItem, Fee
from saas.billing.dunning.legal_pdf import LegalLetter, render_legal_letter
from saas.billing.payments.statement_pdf import Movement, StatementLetter, render_statement
from saas.billing.reminders.letter import REMINDER, DemandLetter, OpenItem, render_letter
from saas.billing.work.netting_pdf import PrintLine, StatementPrint, render_netting
from saas.billing.work.netting_rules import Outcome, Side
from saas.billing.work.protocol_pdf import ProtocolPrint, render_protocol
from saas.billing.work.specification import Row, Specification, render_specification
from saas.outsourced_service import post_runs
from saas.outsourced_service.models import BureauPostBatch
from tests.unit.test_pdf import line, printable

TYPED: list[str] = []  # every value typed() made, for the test to look for


def typed(label: str) -> str:
    """What a user typed into one field: markup, an image tag, an entity and an ``&``."""
    value = f'{label} <b>bold</b> & <img src="/etc/passwd"/> &amp;'
    TYPED.append(value)
    return value


def seller(prefix: str, street: bool = True, footer: bool = True) -> dict:
    """The seller's snapshot; street and footer typed by the user where the PDF prints them."""
    return {"name": typed(f"{prefix}-seller"),
            "address_lines": [typed(f"{prefix}-street") if street else "Street 1"],
            "country": "NO", "org_number": "923609016", "vat_id": "", "bank_accounts": [],
            "primary_color": "#123456",
            "footer_text": typed(f"{prefix}-footer") if footer else ""}


def buyer(prefix: str) -> dict:
    return {"customer_number": 7, "name": typed(f"{prefix}-buyer"),
            "address_lines": [typed(f"{prefix}-address")], "country": "NO", "org_number": "",
            "vat_id": "", "email": "x@example.com"}


DAY = date(2026, 11, 20)


def printed(data: bytes) -> str:
    """The PDF's text, whitespace made single spaces (a cell or sentence may wrap)."""
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def document() -> bytes:
    return pdf.render_pdf(printable(
        seller=Party(name=typed("doc-seller"), address_lines=(typed("doc-street"),)),
        buyer=Party(name=typed("doc-buyer"), address_lines=(typed("doc-address"),)),
        lines=(line(1, typed("doc-line"), site=typed("doc-site")),),
        notes=typed("doc-notes"), extra={"PO": typed("doc-extra")},
        footer_text=typed("doc-footer"), bank_accounts=()))


def reminder_letter() -> bytes:
    return render_letter(DemandLetter(
        language="en", currency="EUR", tone=REMINDER, level_name=typed("rem-level"),
        message=typed("rem-message"), letter_date=DAY, seller=seller("rem"),
        buyer=buyer("rem"), invoice_number="INV-1", invoice_due=date(2026, 10, 31),
        items=(OpenItem("INV-1", date(2026, 10, 17), date(2026, 10, 31), Decimal("10"), 20),),
        fee=Decimal(0), interest=Decimal(0), interest_days=0, interest_rate=Decimal("8"),
        payment_reference=typed("rem-reference")))


def statement() -> bytes:
    return render_statement(StatementLetter(
        language="en", currency="EUR", statement_date=DAY, date_from=date(2026, 10, 1),
        date_to=DAY, seller=seller("st"), buyer=buyer("st"), opening=Decimal(0),
        movements=(Movement(DAY, typed("st-movement"), None, Decimal("10"), Decimal(0),
                            Decimal("10")),)))


def netting() -> bytes:
    return render_netting(StatementPrint(
        number="NS-1", seller=typed("net-seller"), partner=typed("net-partner"),
        period_start=date(2026, 10, 1), period_end=DAY, currency="EUR",
        given_total=Decimal("10"), received_total=Decimal(0), difference=Decimal("10"),
        outcome=Outcome.INVOICE, settled_by=typed("net-settled"),
        lines=(PrintLine(Side.GIVEN, DAY, typed("net-line"), Decimal(1), "h", Decimal("10"),
                         Decimal("10")),)))


def protocol() -> bytes:
    return render_protocol(ProtocolPrint(
        number="WP-1", seller=typed("wp-seller"), customer=typed("wp-customer"),
        site=typed("wp-site"), performed_on=DAY, technician=typed("wp-technician"),
        work_done=typed("wp-work"), hours=Decimal(1), labour="Labour", billable=True,
        materials=((typed("wp-material"), Decimal(1), "m"),)))


def legal_letter() -> bytes:
    claim = Claim(currency="EUR", on=DAY, rate=Decimal("8"),
                  items=(ClaimItem("INV-1", date(2026, 10, 1), Decimal("10"), 50,
                                   Decimal("0.11")),),
                  fees=(Fee(typed("legal-fee"), Decimal("5")),))
    return render_legal_letter(LegalLetter(
        kind="demand", language="en", stage_name=typed("legal-stage"), case_number=1,
        letter_date=DAY, days_to_pay=14, message=typed("legal-message"),
        seller=seller("legal"), buyer=buyer("legal"), claim=claim))


def specification() -> bytes:
    return render_specification(Specification(
        title=typed("spec-title"), language="en", currency="EUR",
        seller=seller("spec", street=False), buyer_name=typed("spec-buyer"),
        groups=((typed("spec-group"), (Row(DAY, typed("spec-row"), typed("spec-site"),
                                           Decimal(1), "h", Decimal("10"),
                                           Decimal("10")),)),)))


def automation_letter() -> bytes:
    return render_template_letter(TemplateLetter(
        title=typed("auto-title"), text=f"{typed('auto-text')}\n\n{typed('auto-more')}",
        letter_date=DAY, language="en", seller=seller("auto"), buyer=buyer("auto")))


def post_sheets() -> bytes:
    return post._sheets([post.Piece(
        title=typed("post-title"), address=[typed("post-name"), typed("post-street")],
        seller=seller("post", footer=False), pdfs=(), address_sheet=True, document_id=1)])


def bureau_print_run() -> bytes:
    return post_runs._cover(BureauPostBatch(id=1, pieces=1, parts=[
        {"client": typed("run-client"), "pieces": 1, "post_batch_id": 1}]))


BUILDERS = {
    "document": document,
    "reminder letter": reminder_letter,
    "statement": statement,
    "netting": netting,
    "protocol": protocol,
    "legal letter": legal_letter,
    "specification": specification,
    "automation letter": automation_letter,
    "post batch": post_sheets,
    "bureau print run": bureau_print_run,
}


@pytest.mark.parametrize("builder", BUILDERS)
def test_every_pdf_builder_prints_user_text_literally(builder):
    TYPED.clear()
    data = BUILDERS[builder]()
    assert len(TYPED) >= 1
    content = printed(data)
    assert [value for value in TYPED if value not in content] == [], content
