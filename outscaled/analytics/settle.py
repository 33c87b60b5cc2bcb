"""Settle logged predictions against the real games, and score them: accuracy, log-loss, calibration, and a
Bayesian comparison of the A/B arms.

A prediction logged at `ts` for a player (and an opponent, when named) is about that player's next series
starting after `ts` (within SETTLE_WINDOW): it settles once the lakehouse holds the maps it asked about
(`map_start`..`map_end`), with the player's total of the stat over those maps from gold.player_features (as of
the newest dbt build). Over the line: outcome 1; under: 0; exactly on it: a push (no outcome). A series that
ended before reaching `map_end` (a 2-0 for maps 1-3) voids the prediction once the lakehouse has games from a
day after the series began (so the series is over). Pushes and voids are kept but not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
from pyiceberg.catalog import Catalog

from outscaled.analytics.store import FEEDBACK, PREDICTIONS, Store
from outscaled.features.schema import STATS
from outscaled.models.metrics import accuracy, brier, expected_calibration_error, log_loss

SETTLE_WINDOW = timedelta(days=14)
SERIES_OVER_AFTER = timedelta(days=1)
GAME_COLUMNS = ("player_key", "opponent_key", "series_id", "series_start", "game_start", "map_number",
                *(f"target_{s}" for s in STATS))
POSTERIOR_DRAWS = 20_000
BOOTSTRAP_DRAWS = 4_000


def _naive_utc(column: str) -> pl.Expr:
    return pl.col(column).dt.replace_time_zone(None).dt.cast_time_unit("us")  # ClickHouse: UTC; lakehouse: naive UTC


def _key(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_lowercase()


def settle(predictions: pl.DataFrame, games: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """The predictions that can be settled now, as rows of the prediction_feedback table."""
    if predictions.is_empty() or games.is_empty():
        return pl.DataFrame()
    asked = predictions.with_columns(
        _key("player").alias("player_key"),
        pl.when(_key("opponent") != "").then(_key("opponent")).alias("opponent_key"),
        _naive_utc("ts").alias("asked_at"),
        (pl.col("map_end") - pl.col("map_start") + 1).cast(pl.Int64).alias("maps"),
        pl.col("shadow_outputs").str.json_path_match("$.p_over").cast(pl.Float64, strict=False).alias("shadow_p_over"),
    ).sort("asked_at")
    games = games.with_columns(_naive_utc("series_start"), _naive_utc("game_start"))
    series = (games.group_by(["player_key", "series_id"])
              .agg(pl.col("series_start").min(), pl.col("opponent_key").first())
              .sort("series_start"))
    matched = pl.concat([
        asked.filter(pl.col("opponent_key").is_null()).join_asof(
            series.drop("opponent_key"), left_on="asked_at", right_on="series_start", by="player_key",
            strategy="forward", tolerance=SETTLE_WINDOW, check_sortedness=False),  # both sorted by time
        asked.filter(pl.col("opponent_key").is_not_null()).join_asof(
            series, left_on="asked_at", right_on="series_start", by=["player_key", "opponent_key"],
            strategy="forward", tolerance=SETTLE_WINDOW, check_sortedness=False),  # both sorted by time
    ], how="diagonal").filter(pl.col("series_id").is_not_null())
    per_map = games.unpivot(index=["player_key", "series_id", "map_number"], on=[f"target_{s}" for s in STATS],
                            variable_name="stat", value_name="value").with_columns(
        pl.col("stat").str.strip_prefix("target_"))
    totals = (matched.select("request_id", "player_key", "series_id", "stat", "map_start", "map_end")
              .join(per_map, on=["player_key", "series_id", "stat"])
              .filter(pl.col("map_number").is_between(pl.col("map_start"), pl.col("map_end")))
              .group_by("request_id").agg(pl.len().alias("maps_played"), pl.col("value").sum().alias("actual")))
    newest = games["game_start"].max()
    rows = matched.join(totals, on="request_id", how="left").with_columns(pl.col("maps_played").fill_null(0))
    complete = pl.col("maps_played") == pl.col("maps")
    over = pl.col("series_start") + SERIES_OVER_AFTER <= pl.lit(newest)
    rows = rows.with_columns(
        pl.when(complete & (pl.col("actual") == pl.col("line"))).then(pl.lit("push"))
        .when(complete).then(pl.lit("settled"))
        .when(over).then(pl.lit("void")).alias("status"))
    rows = rows.filter(pl.col("status").is_not_null()).with_columns(
        pl.when(pl.col("status") == "settled").then((pl.col("actual") > pl.col("line")).cast(pl.UInt8))
        .alias("outcome"),
        pl.when(pl.col("status") != "void").then(pl.col("actual")).alias("actual"))
    rows = rows.with_columns(
        ((pl.col("p_over") > 0.5).cast(pl.UInt8) == pl.col("outcome")).cast(pl.UInt8).alias("hit"),
        pl.lit(now.replace(tzinfo=None)).alias("settled_at"))
    return rows.select(
        "request_id", "ts", "key_id", "player", "stat", "line", "map_start", "map_end", "maps", "opponent",
        "model_version", "arm", "p_over", "shadow_version", "shadow_p_over", "status", "series_id",
        "series_start", "actual", "outcome", "hit", "settled_at")


def _scores(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {"accuracy": accuracy(p, y), "log_loss": log_loss(p, y), "brier": brier(p, y),
            "ece": expected_calibration_error(p, y)}


def scored_rows(feedback: pl.DataFrame) -> pl.DataFrame:
    """One row per scored answer: the served one (its arm) and, where the challenger ran in shadow, the
    challenger's answer to the same request (arm "shadow")."""
    settled = feedback.filter(pl.col("status") == "settled")
    served = settled.select("model_version", "arm", "stat", "maps", "p_over", "outcome")
    shadow = settled.filter(pl.col("shadow_p_over").is_not_null()).select(
        pl.col("shadow_version").alias("model_version"), pl.lit("shadow").alias("arm"), "stat", "maps",
        pl.col("shadow_p_over").alias("p_over"), "outcome")
    return pl.concat([served, shadow])


def metrics(feedback: pl.DataFrame) -> pl.DataFrame:
    """Accuracy (the pick was right), log-loss, Brier and ECE per model version, arm, stat and map count."""
    rows = scored_rows(feedback)
    cells = []
    for (version, arm, stat, maps), cell in rows.group_by(["model_version", "arm", "stat", "maps"]):
        p, y = cell["p_over"].to_numpy().astype(float), cell["outcome"].to_numpy().astype(float)
        cells.append({"model_version": version, "arm": arm, "stat": stat, "maps": int(maps), "n": cell.height,
                      **_scores(p, y)})
    if not cells:
        return pl.DataFrame()
    return pl.DataFrame(cells).sort(["stat", "maps", "arm", "model_version"])


def _row_log_loss(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def compare_arms(feedback: pl.DataFrame, seed: int = 0) -> pl.DataFrame:
    """Per stat, the posterior probability that the challenger is better (deterministic for a seed):
    - `p_challenger_better_hit_rate`: the A/B split, Beta(1 + hits, 1 + misses) posteriors of each arm's
      hit rate, P(challenger's > champion's) by Monte Carlo;
    - `p_shadow_better_log_loss`: shadow mode, paired on the same requests: a Bayesian bootstrap (Dirichlet
      weights) of the mean per-request log-loss difference, P(the challenger's is lower)."""
    settled = feedback.filter(pl.col("status") == "settled")
    rng = np.random.default_rng(seed)
    out = []
    for stat in sorted(settled["stat"].unique().to_list()):
        rows = settled.filter(pl.col("stat") == stat)
        arm = {name: rows.filter(pl.col("arm") == name) for name in ("champion", "challenger")}
        n = {name: frame.height for name, frame in arm.items()}
        hits = {name: int(frame["hit"].sum() or 0) for name, frame in arm.items()}
        p_hit = None
        if n["champion"] and n["challenger"]:
            champion = rng.beta(1 + hits["champion"], 1 + n["champion"] - hits["champion"], POSTERIOR_DRAWS)
            challenger = rng.beta(1 + hits["challenger"], 1 + n["challenger"] - hits["challenger"], POSTERIOR_DRAWS)
            p_hit = float(np.mean(challenger > champion))
        paired = rows.filter(pl.col("shadow_p_over").is_not_null())
        p_shadow = None
        if paired.height:
            y = paired["outcome"].to_numpy().astype(float)
            gain = (_row_log_loss(paired["p_over"].to_numpy().astype(float), y)
                    - _row_log_loss(paired["shadow_p_over"].to_numpy().astype(float), y))
            weights = rng.dirichlet(np.ones(paired.height), BOOTSTRAP_DRAWS)
            p_shadow = float(np.mean(weights @ gain > 0))
        out.append({"stat": stat, "champion_n": n["champion"],
                    "champion_hit_rate": _rate(hits["champion"], n["champion"]), "challenger_n": n["challenger"],
                    "challenger_hit_rate": _rate(hits["challenger"], n["challenger"]),
                    "p_challenger_better_hit_rate": p_hit, "shadow_n": paired.height,
                    "p_shadow_better_log_loss": p_shadow})
    return pl.DataFrame(out, schema_overrides={"p_challenger_better_hit_rate": pl.Float64,
                                               "p_shadow_better_log_loss": pl.Float64,
                                               "champion_hit_rate": pl.Float64, "challenger_hit_rate": pl.Float64})


def _rate(hits: int, n: int) -> float | None:
    return hits / n if n else None


# --- reading and writing ------------------------------------------------------------------------------------
def unsettled_predictions(store: Store) -> pl.DataFrame:
    """Logged player-stat predictions (one row per request id) that have no settled row yet."""
    table = store.query(f"""
        SELECT request_id, ts, key_id, player, stat, line, map_start, map_end, opponent, model_version, arm,
               p_over, shadow_version, shadow_outputs
        FROM {PREDICTIONS} FINAL
        WHERE stat IN {{stats:Array(String)}} AND player != '' AND line IS NOT NULL AND p_over IS NOT NULL
          AND map_start >= 1 AND map_end >= map_start
          AND request_id NOT IN (SELECT request_id FROM {FEEDBACK})""", {"stats": list(STATS)})
    return pl.from_arrow(table)


def settled_feedback(store: Store) -> pl.DataFrame:
    return pl.from_arrow(store.query(f"SELECT * FROM {FEEDBACK} FINAL"))


def game_results(catalog: Catalog) -> pl.DataFrame:
    """Every player's maps and stats, from gold.player_features as the newest dbt build left it."""
    from outscaled.lakehouse.loads import read_as_of_cut

    return read_as_of_cut(catalog, "gold.player_features", GAME_COLUMNS)


@dataclass
class Settlement:
    newly_settled: int  # rows written to prediction_feedback by this run
    waiting: int  # logged predictions still without a result
    feedback: pl.DataFrame  # every settled row so far
    metrics: pl.DataFrame
    arms: pl.DataFrame


def settle_logged(store: Store, catalog: Catalog, seed: int = 0, now: datetime | None = None) -> Settlement:
    """Settle what can be settled, write it to prediction_feedback, and score everything settled so far."""
    now = now or datetime.now(timezone.utc)
    waiting = unsettled_predictions(store)
    new = settle(waiting, game_results(catalog), now) if waiting.height else pl.DataFrame()
    if new.height:
        store.insert(FEEDBACK, _json_rows(new))
    feedback = settled_feedback(store)
    return Settlement(newly_settled=new.height, waiting=waiting.height - new.height, feedback=feedback,
                      metrics=metrics(feedback), arms=compare_arms(feedback, seed))


def _json_rows(frame: pl.DataFrame) -> list[dict]:
    """Rows for JSONEachRow: times as epoch seconds (ClickHouse reads them in UTC)."""
    epoch = datetime(1970, 1, 1)
    rows = frame.with_columns(
        (_naive_utc("ts") - epoch).dt.total_microseconds().truediv(1e6).alias("ts"),
        (pl.col("series_start") - epoch).dt.total_microseconds().truediv(1e6).alias("series_start"),
        (pl.col("settled_at").cast(pl.Datetime("us")) - epoch).dt.total_microseconds().truediv(1e6).alias("settled_at"),
    )
    return rows.to_dicts()
