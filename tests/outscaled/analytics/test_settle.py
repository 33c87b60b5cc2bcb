"""Settlement on real games: predictions logged before real series of the bundled sample settle to the
players' actual totals (checked against the raw bronze rows), and the scores and the arms' comparison are
what the settled rows say."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from outscaled.analytics.owner import open_store
from outscaled.analytics.settle import compare_arms, metrics, settle_logged
from outscaled.analytics.store import PREDICTIONS
from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.loads import read_as_of_cut
from tests.conftest import environment

STAT_COLUMN = {"kills": "kills", "deaths": "deaths", "assists": "assists", "cs": "total_cs"}


@pytest.fixture
def lakehouse(built_home, analytics_settings):
    """The built sample's catalog (read only) beside the test's own analytics store."""
    with environment(OUTSCALED_HOME=str(built_home)):
        return open_catalog(load_settings())


def _games(catalog) -> pl.DataFrame:
    return read_as_of_cut(catalog, "gold.player_features", ("game_id", "player_key", "player_name", "team_key",
                                                             "opponent_key", "series_id", "series_start",
                                                             "map_number", "best_of"))


def _bronze_total(bronze: pl.DataFrame, games: pl.DataFrame, player: str, series: str, stat: str,
                  first: int, last: int) -> float:
    """The player's total of `stat` over maps first..last of the series, from the raw bronze rows."""
    ids = games.filter((pl.col("series_id") == series) & (pl.col("player_name") == player)
                       & pl.col("map_number").is_between(first, last))["game_id"].to_list()
    assert len(ids) == last - first + 1
    rows = bronze.filter(pl.col("game_id").is_in(ids) & (pl.col("player_name") == player))
    assert rows.height == len(ids)
    return float(rows[STAT_COLUMN[stat]].sum())


def _row(request: str, player: str, stat: str, line: float, maps: tuple[int, int], ts: datetime, arm: str,
         p_over: float, opponent: str = "", shadow: float | None = None) -> dict:
    return {"request_id": request, "ts": ts.replace(tzinfo=timezone.utc).timestamp(), "key_id": "key-a",
            "endpoint": "/predict", "player": player, "stat": stat, "line": line, "map_start": maps[0],
            "map_end": maps[1], "opponent": opponent, "p_over": p_over, "expected": line,
            "model_version": "v-challenger" if arm == "challenger" else "v-champion", "arm": arm,
            "shadow_version": "v-challenger" if shadow is not None else "",
            "shadow_outputs": {"p_over": shadow} if shadow is not None else "", "inputs": "", "outputs": "",
            "snapshot_id": "s", "latency_ms": 1.0}


def test_predictions_settle_to_the_real_totals(analytics_settings, lakehouse):
    games = _games(lakehouse)
    bronze = read_as_of_cut(lakehouse, "bronze.player_games")
    per_series = games.group_by(["series_id", "player_name"]).agg(
        pl.len().alias("maps"), pl.col("series_start").first(), pl.col("best_of").first(),
        pl.col("opponent_key").first()).sort(["series_start", "series_id", "player_name"])
    three = per_series.filter(pl.col("maps") == 3).row(0, named=True)
    two = per_series.filter((pl.col("maps") == 2) & (pl.col("best_of") == 3)).row(0, named=True)
    before = lambda s: s["series_start"] - timedelta(hours=1)  # noqa: E731
    expected = {  # request id -> (player, series, stat, maps)
        "a": (three, "kills", (1, 3)), "b": (three, "deaths", (2, 2)), "c": (two, "cs", (1, 2)),
        "d": (two, "assists", (1, 1)), "e": (three, "assists", (1, 2)), "f": (two, "kills", (2, 2)),
    }
    totals = {r: _bronze_total(bronze, games, s["player_name"], s["series_id"], stat, *maps)
              for r, (s, stat, maps) in expected.items()}
    rows = []
    for i, (request, (series, stat, maps)) in enumerate(expected.items()):
        line = totals[request] + (0.5 if i % 2 else -0.5)  # alternately under and over the real total
        rows.append(_row(request, series["player_name"].upper(), stat, line, maps, before(series),
                         "champion" if i % 2 else "challenger", 0.7, shadow=0.3 if i < 3 else None,
                         opponent=series["opponent_key"] if request == "b" else ""))
    rows += [
        _row("void", two["player_name"], "kills", 2.5, (1, 3), before(two), "champion", 0.6),  # a 2-0: no map 3
        _row("push", three["player_name"], "kills", totals["a"], (1, 3), before(three), "champion", 0.6),
        _row("later", three["player_name"], "kills", 2.5, (1, 1), games["series_start"].max() + timedelta(days=1),
             "champion", 0.6),  # no game after it yet: waits
        _row("other-opponent", three["player_name"], "kills", 2.5, (1, 1), before(three), "champion", 0.6,
             opponent="a team they do not play"),
    ]
    with open_store(analytics_settings) as store:
        store.insert(PREDICTIONS, rows)
        result = settle_logged(store, lakehouse, seed=7)
        again = settle_logged(store, lakehouse, seed=7)  # idempotent: nothing new settles twice
    feedback = {r["request_id"]: r for r in result.feedback.to_dicts()}
    assert set(feedback) == {*expected, "void", "push"} and result.newly_settled == 8 and result.waiting == 2
    assert again.newly_settled == 0 and again.feedback.height == 8 and again.waiting == 2
    for request, (series, stat, maps) in expected.items():
        row = feedback[request]
        assert row["status"] == "settled" and row["series_id"] == series["series_id"]
        assert row["actual"] == totals[request]
        assert row["outcome"] == (1 if row["line"] < totals[request] else 0)
        assert row["hit"] == (1 if row["outcome"] == 1 else 0)  # p_over 0.7: the pick was over
    assert feedback["void"]["status"] == "void" and feedback["void"]["outcome"] is None
    assert feedback["push"]["status"] == "push" and feedback["push"]["actual"] == totals["a"]

    settled = result.feedback.filter(pl.col("status") == "settled")
    cells = result.metrics
    champion = cells.filter((pl.col("arm") == "champion") & (pl.col("stat") == "deaths"))
    assert champion["n"].to_list() == [1] and champion["accuracy"].to_list() == [float(feedback["b"]["hit"])]
    y = settled["outcome"].to_numpy().astype(float)
    assert int(cells.filter(pl.col("arm") != "shadow")["n"].sum()) == 6
    assert int(cells.filter(pl.col("arm") == "shadow")["n"].sum()) == 3
    overall = -np.mean(y * np.log(0.7) + (1 - y) * np.log(0.3))
    weighted = float((cells.filter(pl.col("arm") != "shadow")["log_loss"] * cells.filter(
        pl.col("arm") != "shadow")["n"]).sum()) / 6
    assert weighted == pytest.approx(overall)
    assert result.arms.equals(again.arms)  # deterministic for a seed


def test_the_arms_comparison_follows_the_evidence():
    def rows(arm: str, hits: int, n: int, shadow: float | None = None) -> list[dict]:
        return [{"status": "settled", "stat": "kills", "arm": arm, "hit": int(i < hits), "p_over": 0.8,
                 "outcome": int(i < hits), "shadow_p_over": shadow, "shadow_version": "v2"} for i in range(n)]

    frame = pl.DataFrame(rows("champion", 20, 50, shadow=0.8) + rows("challenger", 40, 50))
    arms = compare_arms(frame, seed=1).row(0, named=True)
    assert arms["champion_hit_rate"] == 0.4 and arms["challenger_hit_rate"] == 0.8
    assert arms["p_challenger_better_hit_rate"] > 0.99
    assert arms["shadow_n"] == 50 and arms["p_shadow_better_log_loss"] == 0.0  # identical answers: never better
    assert compare_arms(frame, seed=1).equals(compare_arms(frame, seed=1))
    worse = pl.DataFrame(rows("champion", 40, 50) + rows("challenger", 20, 50))
    assert compare_arms(worse, seed=1)["p_challenger_better_hit_rate"][0] < 0.01
    assert metrics(frame.with_columns(pl.lit("v").alias("model_version"), pl.lit(1).alias("maps"))).height == 3
