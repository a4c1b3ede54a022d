"""What a reminder charges: fixed and percentage fees with a cap, interest per day (exact)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from saas.billing.reminders import policy
from saas.billing.reminders.models import FeeKind


def fee(kind, open_amount="1000.00", currency="EUR", amount="0", percent="0", cap=None,
        rate="1"):
    return policy.fee(kind, Decimal(open_amount), currency, amount=Decimal(amount),
                      percent=Decimal(percent), cap=None if cap is None else Decimal(cap),
                      exchange_rate=Decimal(rate))


def test_a_fixed_fee_is_converted_from_the_tenants_currency_at_the_invoices_rate():
    assert fee(FeeKind.FIXED, amount="40.00") == Decimal("40.00")
    # A NOK tenant's 70 kr fee on a euro invoice recorded at 11.7345 NOK per euro.
    assert fee(FeeKind.FIXED, amount="70.00", rate="11.7345") == Decimal("5.97")
    assert fee(FeeKind.FIXED, amount="500", currency="JPY", rate="0.0062") == Decimal("80645")


@pytest.mark.parametrize(("open_amount", "percent", "cap", "expected"), [
    ("1000.00", "2.5", None, "25.00"),
    ("1000.00", "2.5", "20.00", "20.00"),  # capped
    ("333.33", "1.5", "20.00", "5.00"),  # 4.99995 rounds half up
    ("0.00", "5", None, "0.00"),
])
def test_a_percentage_fee_is_rounded_half_up_and_capped(open_amount, percent, cap, expected):
    assert fee(FeeKind.PERCENT, open_amount, percent=percent, cap=cap) == Decimal(expected)


def test_no_fee_is_zero_in_the_currencys_minor_unit():
    assert fee(FeeKind.NONE) == Decimal("0.00")
    assert str(fee(FeeKind.NONE, currency="JPY")) == "0"


def test_interest_is_simple_per_day_on_the_open_amount():
    # 1,230.00 × 11.25 % × 21 / 365 = 7.9602… → 7.96
    assert policy.interest(Decimal("1230.00"), "PLN", Decimal("11.25"), 21) == Decimal("7.96")
    assert policy.interest(Decimal("1230.00"), "PLN", Decimal("11.25"), 0) == Decimal("0.00")
    assert policy.interest(Decimal("1230.00"), "PLN", Decimal("0"), 30) == Decimal("0.00")


def test_interest_days_count_only_what_earlier_reminders_did_not_charge():
    due = date(2026, 11, 16)
    assert policy.interest_days(due, date(2026, 12, 7), 0) == 21
    assert policy.interest_days(due, date(2026, 12, 14), 21) == 7
    assert policy.interest_days(due, date(2026, 11, 10), 0) == 0  # not overdue
    assert policy.interest_days(None, date(2026, 12, 7), 0) == 0
