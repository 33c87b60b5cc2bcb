"""Walk-forward backtest: every month is predicted by models trained only on games before it began.

Test rows are the games of series that start in the month; training rows are games that started before
the month (so before every test series). The NB size and the isotonic calibration of month m are fitted
on the out-of-fold predictions of earlier months only. The final (champion candidate) models use all
data, with NB size and calibration from all out-of-fold predictions.

After the months are scored, the adjustment layers (patch meta, champion) are evaluated the same way on
the out-of-fold rows (outscaled.models.layers.with_layers): every row's factors come from earlier games'
rows only, so the pre-draft model (`model`, the gated metric) and the layered modes (`model_meta`,
`model_post_draft`) are scored on the same unseen games.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from outscaled.models.estimators import (
    StatModel, WinModel, fit_calibrator, train_stat_model, train_win_model,
)
from outscaled.models.layers import Layers, fit_layers, with_layers
from outscaled.models.ranges import RangeCalibration, fit_range_calibration, range_rows, raw_p_over, scored_ranges
from outscaled.features.schema import (
    PLAYER_FEATURES, STATS, TEAM_FEATURES, one_row_per_game,
)
from outscaled.features.rows import player_matrix, team_matrix
from outscaled.models.scoring import nb_p_over, score_stat, score_win, stat_metrics, win_metrics

MIN_TRAIN_ROWS = 2000
MIN_LAYER_ROWS = 500  # out-of-fold rows (all stats) before the layers are fitted at all (as calibration)


@dataclass
class Bundle:
    stats: dict[str, StatModel]
    win: WinModel
    train_end: datetime  # trained on games that started before this
    rows: int
    layers: Layers | None = None  # fitted on out-of-fold rows; None without enough of them
    ranges: RangeCalibration | None = None  # per (stat, maps, mode, opponent), on out-of-fold map ranges

    def calibrate(self, stat: str, mode: str, maps: int, p_over: np.ndarray, opponent: str = "named") -> np.ndarray:
        """Calibrated P(over) of a total over `maps` maps in a served mode ("model", "meta", "post_draft"),
        against a named opponent or the league's average one ("named" / "average")."""
        if self.ranges is not None:
            return self.ranges.calibrate(stat, maps, mode, opponent, p_over)
        if mode == "model":  # versions saved before the range calibration: the per-map calibration
            return self.stats[stat].calibrate(p_over)
        return self.layers.calibrate(mode, stat, p_over)


@dataclass
class BacktestResult:
    player_predictions: pl.DataFrame
    win_predictions: pl.DataFrame
    months: list[str]
    ranges: pl.DataFrame = field(default_factory=pl.DataFrame)  # scored map ranges (outscaled.models.ranges)
    calibration_window: int | None = None  # months of settled ranges each calibration is fitted on (None: all)

    def metrics(self, since: datetime | None = None) -> dict:
        players = self.player_predictions
        wins = self.win_predictions
        if since is not None:
            players = players.filter(pl.col("series_start") >= since) if not players.is_empty() else players
            wins = wins.filter(pl.col("series_start") >= since) if not wins.is_empty() else wins
        if players.is_empty():
            result = {stat: {"n": 0} for stat in STATS}
        else:
            result = {stat: stat_metrics(players.filter(pl.col("stat") == stat)) for stat in STATS}
        result["win"] = win_metrics(wins)
        return result


def _month_starts(series_starts: pl.Series) -> list[datetime]:
    return series_starts.dt.truncate("1mo").unique().sort().to_list()


def _months_before_next(last: str, window: int) -> str:
    """The first of the `window` months that end with month `last`."""
    year, number = int(last[:4]), int(last[5:7]) - window + 1
    while number < 1:
        year, number = year - 1, number + 12
    return f"{year:04d}-{number:02d}"


def fit_bundle(players: pl.DataFrame, teams: pl.DataFrame, before: datetime,
               oof: pl.DataFrame | None = None, layers: bool = True,
               calibration_window: int | None = None) -> Bundle:
    """Train every model on games that started before `before`; NB size, calibration and (with `layers`)
    the adjustment layers from `oof`."""
    train = players.filter(pl.col("game_start") < before)
    matrix = player_matrix(train)
    games = one_row_per_game(teams.filter(pl.col("game_start") < before))
    pasts = {stat: _usable_oof(oof, stat, before) for stat in STATS}

    def stat_model(stat: str) -> StatModel:
        target = train[f"target_{stat}"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        past = pasts[stat]
        return train_stat_model(stat, matrix, target, PLAYER_FEATURES,
                                past["expected"].to_numpy() if past is not None else None,
                                past["target"].to_numpy() if past is not None else None)

    # The five boosters side by side, one thread each (LightGBM releases the GIL; every model is trained on
    # one thread, outscaled.models.estimators): on small training sets that wastes less than two threads a model.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        training = {stat: pool.submit(stat_model, stat) for stat in STATS}
        win_training = pool.submit(train_win_model, team_matrix(games),
                                   games["target_result"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                                   TEAM_FEATURES)
        models: dict[str, StatModel] = {stat: future.result() for stat, future in training.items()}
        win = win_training.result()
    for stat, model in models.items():
        past = pasts[stat]
        if past is not None:
            raw = nb_p_over(past["expected"].to_numpy(), model.nb_size, past["line"].to_numpy())
            model.calibrator = fit_calibrator(raw, past["outcome"].to_numpy())
    fitted, ranges = None, None
    if layers and oof is not None and (oof["series_start"] < before).sum() >= MIN_LAYER_ROWS:
        fitted = fit_layers(oof, before)
        ranges = fit_served_ranges(oof.filter(pl.col("series_start") < before), calibration_window)
    return Bundle(models, win, before, train.height, fitted, ranges)


def fit_served_ranges(oof: pl.DataFrame, window: int | None = None) -> RangeCalibration:
    """The served range calibration: the out-of-fold map ranges of the last `window` months (None: all) of
    every served mode and opponent."""
    layered = oof if "expected_meta" in oof.columns else with_layers(oof)
    rows = range_rows(layered)
    if window is not None and rows.height:
        rows = rows.filter(pl.col("month") >= _months_before_next(str(rows["month"].max()), window))
    raw = {tuple(c.removeprefix("means_").rsplit("_", 1)): raw_p_over(rows, c)
           for c in rows.columns if c.startswith("means_")}
    return fit_range_calibration(rows, raw)


def _usable_oof(oof: pl.DataFrame | None, stat: str, before: datetime) -> pl.DataFrame | None:
    if oof is None or oof.is_empty():
        return None
    past = oof.filter((pl.col("stat") == stat) & (pl.col("series_start") < before))
    return past if past.height >= 500 else None


def walk_forward(players: pl.DataFrame, teams: pl.DataFrame, first_month: datetime | None = None,
                 progress: Callable[[str], None] = lambda _: None,
                 average: pl.DataFrame | None = None) -> BacktestResult:
    """`players` must carry the reference lines (lines.with_reference_lines); `average`: the same rows against
    the league's average opponent (features.as_of.with_average_opponent), scored as requests without one."""
    predictions: list[pl.DataFrame] = []
    win_predictions: list[pl.DataFrame] = []
    done: list[str] = []
    for month in _month_starts(players["series_start"]):
        if players.filter(pl.col("game_start") < month).height < MIN_TRAIN_ROWS:
            continue
        if first_month is not None and month < first_month:
            continue
        next_month = (month + timedelta(days=32)).replace(day=1)
        oof = pl.concat(predictions) if predictions else None
        bundle = fit_bundle(players, teams, month, oof, layers=False)
        in_month = (players["series_start"] >= month) & (players["series_start"] < next_month)
        test = players.filter(in_month)
        test_average = average.filter(in_month) if average is not None else None
        fallback = {s: float(players.filter(pl.col("game_start") < month)[f"target_{s}"].mean() or 0) for s in STATS}
        for stat in STATS:
            scored = score_stat(bundle.stats[stat], test, fallback[stat], test_average)
            if not scored.is_empty():
                predictions.append(scored.with_columns(pl.lit(month.strftime("%Y-%m")).alias("month")))
        test_teams = teams.filter((pl.col("series_start") >= month) & (pl.col("series_start") < next_month))
        scored_wins = score_win(bundle.win, test_teams)
        if not scored_wins.is_empty():
            win_predictions.append(scored_wins.with_columns(pl.lit(month.strftime("%Y-%m")).alias("month")))
        done.append(month.strftime("%Y-%m"))
        progress(f"backtest {month:%Y-%m}: trained on {bundle.rows} rows, scored {test.height}")
    if not predictions:
        return BacktestResult(pl.DataFrame(), pl.concat(win_predictions) if win_predictions else pl.DataFrame(), done)
    progress("backtest: adjustment layers on the out-of-fold rows")
    layered = with_layers(pl.concat(predictions))
    progress("backtest: map ranges, calibrated walk-forward")
    ranges, window = scored_ranges(layered)
    progress(f"backtest: range calibration window {window or 'all'} months (chosen before the last season)")
    return BacktestResult(layered, pl.concat(win_predictions) if win_predictions else pl.DataFrame(), done,
                          ranges, window)
