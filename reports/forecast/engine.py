"""The forecast's arithmetic over plain values (no database): the historical win rate of
a stage, and the three forecasts of a set of deals. Periods are read by
``targets.choices.parse_period`` (the one period parser).

Definitions (DESIGN §11, docs/architecture.md §4 "Reports"):

- **won**: the revenue signed in the period (``reports.definitions.won_between``, the
  scoreboard's "signed in the period");
- **open deals**: leads open *now* in ``sql`` or ``opportunity`` with an expected amount
  whose expected close date (``Lead.expected_close_date``) falls in the period; the open
  deals without a date count only towards the current period (the one holding today),
  shown apart as "no close date" (``undated_count``, ``undated_amount``);
- **win rate of a stage** (``stage_win_rate``): of the leads that reached the stage and
  closed in the last ``WIN_RATE_DAYS`` days, won / (won + lost + disqualified); ``None``
  without any such lead (such deals then weigh 0);
- **best case** = won + every open deal's expected amount;
- **weighted** = won + Σ expected amount × win rate of the deal's stage;
- **committed** = won + the expected amounts of the open deals whose stage's win rate is at
  least ``COMMIT_WIN_RATE`` (the lifecycle has no "commit" state);
- **gap** = target − weighted (``None`` without a target): what is still missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from leads.choices import Stage

#: The stages of an open deal, earliest first.
OPEN_DEAL_STAGES: tuple[str, ...] = (Stage.SQL, Stage.OPPORTUNITY)
#: Days of closed leads the win rates are learnt from.
WIN_RATE_DAYS = 180
#: A stage whose win rate is at least this counts as committed.
COMMIT_WIN_RATE = 0.5

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class StageOutcomes:
    """How the leads that reached a stage and closed in the window ended."""

    won: int = 0
    lost: int = 0
    disqualified: int = 0


def stage_win_rate(outcomes: StageOutcomes) -> float | None:
    """won / (won + lost + disqualified); ``None`` when none closed."""
    closed = outcomes.won + outcomes.lost + outcomes.disqualified
    if closed <= 0:
        return None
    return round(outcomes.won / closed, 4)


def win_rates(outcomes: Mapping[str, StageOutcomes]) -> dict[str, float | None]:
    """The win rate of every open-deal stage (``None`` where nothing closed)."""
    return {
        stage: stage_win_rate(outcomes.get(stage, StageOutcomes())) for stage in OPEN_DEAL_STAGES
    }


@dataclass(frozen=True)
class OpenDeals:
    """Open deals of one stage (of one owner): how many and their expected amounts;
    ``undated``: deals without an expected close date."""

    stage: str
    count: int
    amount: Decimal
    undated: bool = False


@dataclass(frozen=True)
class Forecast:
    """The forecast of one rep, team or the company."""

    won: Decimal
    open_count: int
    open_amount: Decimal
    best_case: Decimal
    weighted: Decimal
    committed: Decimal
    #: Of the open deals, those without an expected close date (current period only).
    undated_count: int = 0
    undated_amount: Decimal = Decimal("0")

    def as_dict(self) -> dict[str, Decimal | int]:
        return {
            "won": self.won,
            "open_count": self.open_count,
            "open_amount": self.open_amount,
            "undated_count": self.undated_count,
            "undated_amount": self.undated_amount,
            "best_case": self.best_case,
            "weighted": self.weighted,
            "committed": self.committed,
        }


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def forecast(
    *,
    won: Decimal,
    deals: Iterable[OpenDeals],
    rates: Mapping[str, float | None],
    commit_rate: float = COMMIT_WIN_RATE,
) -> Forecast:
    """Best case, weighted and committed from the revenue won so far and the open deals
    by stage; a stage without a win rate weighs 0 and is not committed."""
    count, amount, weighted, committed = 0, Decimal("0"), Decimal("0"), Decimal("0")
    undated_count, undated_amount = 0, Decimal("0")
    for deal in deals:
        rate = rates.get(deal.stage)
        count += deal.count
        amount += deal.amount
        if deal.undated:
            undated_count += deal.count
            undated_amount += deal.amount
        if rate is not None:
            weighted += deal.amount * Decimal(str(rate))
            if rate >= commit_rate:
                committed += deal.amount
    return Forecast(
        won=_money(won),
        open_count=count,
        open_amount=_money(amount),
        best_case=_money(won + amount),
        weighted=_money(won + weighted),
        committed=_money(won + committed),
        undated_count=undated_count,
        undated_amount=_money(undated_amount),
    )


def add_up(forecasts: Iterable[Forecast]) -> Forecast:
    """The sum of several forecasts (a team's, from its reps')."""
    items = list(forecasts)
    return Forecast(
        won=sum((f.won for f in items), Decimal("0")),
        open_count=sum(f.open_count for f in items),
        open_amount=sum((f.open_amount for f in items), Decimal("0")),
        best_case=sum((f.best_case for f in items), Decimal("0")),
        weighted=sum((f.weighted for f in items), Decimal("0")),
        committed=sum((f.committed for f in items), Decimal("0")),
        undated_count=sum(f.undated_count for f in items),
        undated_amount=sum((f.undated_amount for f in items), Decimal("0")),
    )


def gap(*, target: Decimal | None, weighted: Decimal) -> Decimal | None:
    """What the weighted forecast still misses of the target (negative: above it);
    ``None`` without a target."""
    if target is None:
        return None
    return _money(target - weighted)
