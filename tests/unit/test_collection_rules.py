"""The pure rules of collection: promises, to-dos, when a case opens, legal stage order,
interest to date and the claim."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from saas.billing.dunning import claims, rules
from saas.billing.dunning.rules import PromiseState, TodoKind

D = Decimal
PROMISED = date(2026, 12, 10)


@pytest.mark.parametrize(
    "amount, paid, today, state",
    [
        ("400.00", "0", date(2026, 12, 9), PromiseState.PENDING),
        ("400.00", "0", PROMISED, PromiseState.PENDING),  # the promised day itself still counts
        ("400.00", "0", date(2026, 12, 11), PromiseState.BROKEN),
        ("400.00", "399.99", date(2026, 12, 11), PromiseState.BROKEN),  # short by a cent
        ("400.00", "400.00", date(2026, 12, 11), PromiseState.KEPT),
        ("400.00", "400.00", date(2026, 12, 1), PromiseState.KEPT),  # early
        ("400.00", "1000.00", date(2027, 1, 1), PromiseState.KEPT),  # more than promised
    ],
)
def test_promise_state(amount, paid, today, state):
    assert rules.promise_state(D(amount), PROMISED, D(paid), today) == state


@pytest.mark.parametrize(
    "next_on, promise, today, expected",
    [
        (date(2026, 12, 5), None, date(2026, 12, 4), []),
        (date(2026, 12, 5), None, date(2026, 12, 5), [(TodoKind.CONTACT, 0)]),
        (date(2026, 12, 5), None, date(2026, 12, 8), [(TodoKind.CONTACT, 3)]),
        (None, None, date(2026, 12, 8), []),
        (date(2026, 12, 20), PromiseState.PENDING, date(2026, 12, 8), []),
        (date(2026, 12, 20), PromiseState.KEPT, date(2026, 12, 12), []),
        (
            date(2026, 12, 20),
            PromiseState.BROKEN,
            date(2026, 12, 12),
            [(TodoKind.BROKEN_PROMISE, 2)],
        ),
        (
            date(2026, 12, 10),
            PromiseState.BROKEN,
            date(2026, 12, 11),
            [(TodoKind.BROKEN_PROMISE, 1), (TodoKind.CONTACT, 1)],
        ),
    ],
)
def test_todos_of_a_case(next_on, promise, today, expected):
    found = rules.todos_of_case(next_on, promise, PROMISED, today)
    assert [(todo.kind, todo.days_late) for todo in found] == expected
    assert [todo.overdue for todo in found] == [late > 0 for _, late in expected]


@pytest.mark.parametrize(
    "exhausted, overdue, threshold, reason",
    [
        (True, "0", None, "reminders"),
        (True, "9999", "100", "reminders"),  # exhausted reminders come first
        (False, "100.01", "100", "threshold"),
        (False, "100.00", "100", None),  # above, not at
        (False, "5000", None, None),  # no threshold set
    ],
)
def test_when_a_case_opens_by_itself(exhausted, overdue, threshold, reason):
    assert (
        rules.opening_reason(
            reminders_exhausted=exhausted,
            overdue=D(overdue),
            threshold=D(threshold) if threshold else None,
        )
        == reason
    )


@pytest.mark.parametrize(
    "current, target, refusal",
    [
        (None, 1, None),
        (None, 2, "enters its legal path at the first stage"),
        (1, 2, None),
        (2, 3, None),
        (1, 3, "move to the next stage first"),
        (3, 2, None),  # one back: a correction
        (3, 1, "steps back one stage at a time"),
        (2, 2, "at that stage already"),
        (1, 9, "not on the case's legal path"),
        (7, 1, "no longer on its path"),
    ],
)
def test_legal_stages_are_taken_in_order(current, target, refusal):
    if refusal is None:
        rules.check_stage_move([3, 1, 2], current, target)
    else:
        with pytest.raises(rules.MoveRefused, match=refusal):
            rules.check_stage_move([1, 2, 3], current, target)


@pytest.mark.parametrize(
    "principal, currency, rate, due, on, expected",
    [
        ("1000.00", "NOK", "12", date(2026, 1, 1), date(2026, 1, 1), "0.00"),  # not overdue yet
        ("1000.00", "NOK", "12", date(2026, 1, 1), date(2025, 12, 1), "0.00"),
        ("1000.00", "NOK", "12", date(2026, 1, 1), date(2026, 1, 31), "9.86"),  # 30 days
        ("1000.00", "NOK", "12", date(2026, 1, 1), date(2027, 1, 1), "120.00"),  # a year
        ("1230.00", "PLN", "11.25", date(2026, 11, 16), date(2026, 12, 7), "7.96"),  # 21 days
        ("999.99", "EUR", "0", date(2026, 1, 1), date(2026, 6, 1), "0.00"),
        ("50000", "JPY", "10", date(2026, 1, 1), date(2026, 2, 1), "425"),  # no minor unit
        ("0.10", "EUR", "8", date(2026, 1, 1), date(2026, 12, 31), "0.01"),  # half up
    ],
)
def test_interest_to_date(principal, currency, rate, due, on, expected):
    assert claims.interest_to_date(D(principal), currency, D(rate), due, on) == D(expected)


def test_a_claim_adds_principal_interest_and_fees_rounded_per_invoice():
    claim = claims.build_claim(
        "NOK",
        date(2026, 3, 2),
        D("10"),
        [
            ("INV-1", date(2026, 1, 1), D("1000.00")),
            ("INV-2", date(2026, 2, 1), D("333.33")),
            ("INV-3", date(2026, 2, 1), D("0")),  # paid meanwhile: not claimed
        ],
        [claims.Fee("Reminder fees", D("40.00")), claims.Fee("Court fee", D("0"))],
    )
    assert [(i.number, i.days, i.interest) for i in claim.items] == [
        ("INV-1", 60, D("16.44")),
        ("INV-2", 29, D("2.65")),
    ]
    assert (claim.principal, claim.interest, claim.fee_total, claim.total) == (
        D("1333.33"),
        D("19.09"),
        D("40.00"),
        D("1392.42"),
    )
    assert [fee.label for fee in claim.fees] == ["Reminder fees"]


@pytest.mark.parametrize(
    "amount, currency, rate, expected",
    [
        ("500.00", "NOK", "1", "500.00"),
        ("500.00", "EUR", "11.5", "43.48"),  # 500 NOK in EUR at 11.5 NOK per EUR
        ("500.00", "EUR", "0", "500.00"),  # no rate recorded: as it is
    ],
)
def test_a_stage_fee_in_the_claim_currency(amount, currency, rate, expected):
    assert claims.in_currency(D(amount), currency, D(rate)) == D(expected)
