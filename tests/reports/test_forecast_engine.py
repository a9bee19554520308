"""The forecast's pure arithmetic: periods (the one parser, ``targets.choices``), stage
win rates, the weighting (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reports.forecast.engine import (
    COMMIT_WIN_RATE,
    OpenDeals,
    StageOutcomes,
    add_up,
    forecast,
    gap,
    stage_win_rate,
    win_rates,
)
from targets.choices import month_of, parse_period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-12", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
        ("2026-02", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        ("2028-02", dt.date(2028, 2, 1), dt.date(2028, 2, 29)),
        ("2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ("2026-Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        (" 2026-Q2 ", dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    ],
)
def test_the_one_period_parser_reads_months_and_quarters(text, start, end):
    assert parse_period(text) == (start, end)


@pytest.mark.parametrize(
    "text", ["", "2026", "2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-12", "2026-1", "1999-12"]
)
def test_the_one_period_parser_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_period(text)


def test_period_of_a_day_is_its_month():
    assert month_of(dt.date(2026, 3, 9)) == "2026-03"


def test_stage_win_rate_is_won_over_every_close():
    assert stage_win_rate(StageOutcomes(won=3, lost=4, disqualified=1)) == 0.375
    assert stage_win_rate(StageOutcomes(won=2, lost=1)) == 0.6667
    assert stage_win_rate(StageOutcomes(won=5)) == 1.0
    assert stage_win_rate(StageOutcomes(lost=2, disqualified=2)) == 0.0


def test_stage_without_closed_leads_has_no_win_rate():
    assert stage_win_rate(StageOutcomes()) is None
    assert win_rates({"opportunity": StageOutcomes(won=1, lost=1)}) == {
        "sql": None,
        "opportunity": 0.5,
    }


def test_forecast_weights_each_stage_by_its_win_rate():
    result = forecast(
        won=Decimal("10000"),
        deals=[
            OpenDeals(stage="opportunity", count=2, amount=Decimal("20000")),
            OpenDeals(stage="sql", count=1, amount=Decimal("5000")),
        ],
        rates={"opportunity": 0.75, "sql": 0.4286},
    )
    assert result.won == Decimal("10000.00")
    assert result.open_count == 3
    assert result.open_amount == Decimal("25000.00")
    assert result.best_case == Decimal("35000.00")
    # 10000 + 20000 × 0.75 + 5000 × 0.4286
    assert result.weighted == Decimal("27143.00")
    # the opportunity stage is at or above the threshold; SQL is not
    assert result.committed == Decimal("30000.00")


def test_committed_counts_a_stage_exactly_at_the_threshold():
    deals = [OpenDeals(stage="sql", count=1, amount=Decimal("100"))]
    at = forecast(won=Decimal("0"), deals=deals, rates={"sql": COMMIT_WIN_RATE})
    below = forecast(won=Decimal("0"), deals=deals, rates={"sql": COMMIT_WIN_RATE - 0.0001})
    assert at.committed == Decimal("100.00")
    assert below.committed == Decimal("0.00")


def test_a_stage_without_win_rate_weighs_nothing_but_counts_in_best_case():
    result = forecast(
        won=Decimal("0"),
        deals=[OpenDeals(stage="sql", count=1, amount=Decimal("999.99"))],
        rates={"sql": None},
    )
    assert (result.best_case, result.weighted, result.committed) == (
        Decimal("999.99"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_weighted_amounts_round_half_up_to_cents():
    result = forecast(
        won=Decimal("0"),
        deals=[OpenDeals(stage="sql", count=1, amount=Decimal("0.05"))],
        rates={"sql": 0.5},
    )
    assert result.weighted == Decimal("0.03")


def test_add_up_sums_every_figure():
    one = forecast(
        won=Decimal("1"),
        deals=[
            OpenDeals(stage="sql", count=1, amount=Decimal("10")),
            OpenDeals(stage="sql", count=2, amount=Decimal("4"), undated=True),
        ],
        rates={"sql": 0.5},
    )
    total = add_up([one, one])
    assert total.as_dict() == {
        "won": Decimal("2.00"),
        "open_count": 6,
        "open_amount": Decimal("28.00"),
        "undated_count": 4,
        "undated_amount": Decimal("8.00"),
        "best_case": Decimal("30.00"),
        "weighted": Decimal("16.00"),
        "committed": Decimal("30.00"),
    }
    assert add_up([]).best_case == 0


def test_gap_is_target_minus_weighted_and_none_without_target():
    assert gap(target=Decimal("50000"), weighted=Decimal("27143.00")) == Decimal("22857.00")
    assert gap(target=Decimal("100"), weighted=Decimal("150")) == Decimal("-50.00")
    assert gap(target=None, weighted=Decimal("1")) is None
