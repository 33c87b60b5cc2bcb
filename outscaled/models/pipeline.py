"""The model workflow the assets and the CLI share: load gold, backtest, train, store, register."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

import polars as pl
from pyiceberg.catalog import Catalog

from outscaled.config import Settings
from outscaled.lakehouse.dbt_iceberg import write_iceberg
from outscaled.lakehouse.loads import read_as_of_cut, reader_snapshot
from outscaled.models.backtest import BacktestResult, fit_bundle, walk_forward
from outscaled.features.schema import PLAYER_FEATURES, STATS, schema_hash
from outscaled.features.as_of import with_average_opponent
from outscaled.models.lines import with_reference_lines
from outscaled.models.ranges import range_metrics
from outscaled.models.served_metrics import served_summary
from outscaled.models.registry import GateDecision, register
from outscaled.models.store import new_version, save_bundle

def load_frames(catalog: Catalog) -> tuple[pl.DataFrame, pl.DataFrame]:
    players = read_as_of_cut(catalog, "gold.player_features")  # as the newest complete dbt build left them
    teams = read_as_of_cut(catalog, "gold.team_features")
    return with_reference_lines(players), teams


def average_opponent_frame(catalog: Catalog, players: pl.DataFrame) -> pl.DataFrame:
    """`players` against the league's average opponent as of each series' start (requests without one)."""
    def table(name: str) -> pl.DataFrame:
        return read_as_of_cut(catalog, name)

    return with_average_opponent(players, table("gold.team_state_history"), table("gold.team_conceded_state_history"))


def data_snapshot(catalog: Catalog) -> dict[str, str]:
    snapshot = {}
    for name in ("gold.player_features", "gold.team_features", "bronze.player_games"):
        pinned, snapshot_id = reader_snapshot(catalog, name)
        if not pinned:
            current = catalog.load_table(name).current_snapshot()
            snapshot_id = current.snapshot_id if current else None
        snapshot[name] = str(snapshot_id) if snapshot_id is not None else "none"
    return snapshot


def metrics_rows(result: BacktestResult) -> pl.DataFrame:
    rows = []
    scopes: dict[str, datetime | None] = {"overall": None}
    if result.months:
        last_year = int(result.months[-1][:4])
        scopes[f"since {last_year}-01"] = datetime(last_year, 1, 1)
    for scope, since in scopes.items():
        for model, metrics in result.metrics(since).items():
            if not metrics.get("n"):
                continue
            for method, values in [("model", metrics["model"]), *metrics.get("variants", {}).items(),
                                   *metrics["baselines"].items()]:
                rows.append({"scope": scope, "model": model, "method": method, "n": metrics["n"], **values})
    for month in result.months:
        start = datetime.strptime(month, "%Y-%m")
        players = result.player_predictions.filter(pl.col("month") == month)
        wins = result.win_predictions.filter(pl.col("month") == month) if not result.win_predictions.is_empty() else None
        sub = BacktestResult(players, wins if wins is not None else pl.DataFrame(), [month])
        for model, metrics in sub.metrics(start).items():
            if metrics.get("n"):
                for method, values in [("model", metrics["model"]), *metrics.get("variants", {}).items()]:
                    rows.append({"scope": month, "model": model, "method": method, "n": metrics["n"], **values})
    return pl.DataFrame(rows, schema={"scope": pl.String, "model": pl.String, "method": pl.String, "n": pl.Int64,
                                      "log_loss": pl.Float64, "brier": pl.Float64, "accuracy": pl.Float64,
                                      "ece": pl.Float64, "mae": pl.Float64})


def run_backtest(catalog: Catalog, first_month: datetime | None = None,
                 progress: Callable[[str], None] = lambda _: None) -> BacktestResult:
    players, teams = load_frames(catalog)
    result = walk_forward(players, teams, first_month, progress, average_opponent_frame(catalog, players))
    if not result.player_predictions.is_empty():
        write_iceberg(catalog, "gold.backtest_predictions", result.player_predictions.to_arrow())
    if not result.win_predictions.is_empty():
        write_iceberg(catalog, "gold.backtest_win_predictions", result.win_predictions.to_arrow())
    write_iceberg(catalog, "gold.backtest_metrics", metrics_rows(result).to_arrow())
    if not result.ranges.is_empty():
        write_iceberg(catalog, "gold.backtest_range_metrics", range_metrics_rows(result).to_arrow())
        scored = result.ranges.select(pl.exclude("^means_.*$")).with_columns(
            pl.lit(result.calibration_window, dtype=pl.Int64).alias("calibration_window"))
        write_iceberg(catalog, "gold.backtest_ranges", scored.to_arrow())
    return result


def stored_backtest(catalog: Catalog) -> BacktestResult:
    """The latest backtest as run_backtest stored it (what the training asset reads)."""
    def table(name: str) -> pl.DataFrame:
        return pl.from_arrow(catalog.load_table(name).scan().to_arrow()) if catalog.table_exists(name) else pl.DataFrame()

    predictions, wins, ranges = table("gold.backtest_predictions"), table("gold.backtest_win_predictions"), \
        table("gold.backtest_ranges")
    months = predictions["month"].unique().sort().to_list() if not predictions.is_empty() else []
    window = None if ranges.is_empty() else ranges["calibration_window"][0]
    return BacktestResult(predictions, wins, months, ranges.drop("calibration_window") if not ranges.is_empty()
                          else ranges, window)


def range_metrics_rows(result: BacktestResult) -> pl.DataFrame:
    """Per scope (all months, the last year), stat, map range, served mode and opponent (outscaled.models.ranges)."""
    scopes: dict[str, datetime | None] = {"overall": None}
    if result.months:
        last_year = int(result.months[-1][:4])
        scopes[f"since {last_year}-01"] = datetime(last_year, 1, 1)
    return pl.concat([range_metrics(result.ranges, since).with_columns(pl.lit(scope).alias("scope"))
                      for scope, since in scopes.items()]).select("scope", pl.exclude("scope"))


def train_and_register(settings: Settings, catalog: Catalog, result: BacktestResult
                       ) -> tuple[str, list[GateDecision], dict]:
    """Final models on all data (NB size and calibration from the backtest's out-of-fold predictions)."""
    players, teams = load_frames(catalog)
    end = players["game_start"].max()
    oof = result.player_predictions if not result.player_predictions.is_empty() else None
    bundle = fit_bundle(players, teams, end + timedelta(seconds=1), oof, calibration_window=result.calibration_window)
    snapshot = data_snapshot(catalog)
    metrics = result.metrics()
    for model, summary in served_summary(result.ranges, result.win_predictions).items():
        metrics[model]["served"] = summary  # what the gate compares, month by month
    version = new_version()
    window = {"first_game": str(players["game_start"].min()), "last_game": str(end),
              "backtest_months": result.months}
    summaries = {model: {k: v for k, v in values.items() if k != "served"} for model, values in metrics.items()}
    metadata = {"training_window": window, "data_snapshot": snapshot, "backtest_metrics": summaries,
                "calibration_window_months": result.calibration_window or "all",
                "nb_size": {s: bundle.stats[s].nb_size for s in STATS}}
    if bundle.layers is not None:  # BentoML metadata holds no None and no infinity ("off": the layer is off)
        metadata["layer_priors"] = {layer: {s: v if math.isfinite(v) else "off" for s, v in priors.items()}
                                    for layer, priors in bundle.layers.priors.items()}
    save_bundle(settings, bundle, version, metadata)
    decisions = register(catalog, version, metrics, bundle.train_end, bundle.rows, schema_hash(PLAYER_FEATURES),
                         snapshot)
    return version, decisions, metrics
