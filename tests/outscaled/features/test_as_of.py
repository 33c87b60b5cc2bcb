"""State as of a moment: the snapshot's average opponent and the backtest's are one definition, and a
state as of a series' start is the state gold.player_features joins."""

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from outscaled.features.as_of import latest_rows, with_average_opponent
from outscaled.features.rows import CONCEDED, TEAM_SIDE
from outscaled.features.schema import PLAYER_STATE
from outscaled.lakehouse.tables import read_table
from outscaled.online.snapshot import build_payloads


def _tables(catalog):
    return {name: read_table(catalog.load_table(f"gold.{name}"))
            for name in ("player_features", "player_state_history", "team_state_history", "team_conceded_state_history")}


def test_the_backtests_average_opponent_is_the_snapshots(built_catalog):
    tables = _tables(built_catalog)
    features = tables["player_features"]
    sampled = (features.filter(pl.col("position") == "mid").sort(["series_start", "player_key"])
               .unique("league", keep="last", maintain_order=True).head(4))
    replaced = with_average_opponent(sampled, tables["team_state_history"], tables["team_conceded_state_history"])
    for row, original in zip(replaced.iter_rows(named=True), sampled.iter_rows(named=True)):
        average = build_payloads(built_catalog, row["series_start"])["average_opponents"][row["league"]]
        # the same means (summed in another order: equal to the last bits)
        assert [np.nan if row[f"opponent_{c}"] is None else row[f"opponent_{c}"] for c in TEAM_SIDE] == pytest.approx([np.nan if average.get(c) is None else average[c] for c in TEAM_SIDE],
                                                                          rel=1e-12, nan_ok=True)
        conceded = average["conceded"]["mid"]
        assert row["opponent_conceded_kills_avg_10"] == pytest.approx(conceded["kills_avg_10"], rel=1e-12)
        assert row["opponent_conceded_games"] == pytest.approx(conceded["games_seen"], rel=1e-12)
        assert row["player_key"] == original["player_key"] and row["kills_ewm"] == original["kills_ewm"]
    assert replaced.columns == sampled.columns and replaced.height == sampled.height


def test_state_as_of_a_series_start_is_the_state_the_features_join(built_catalog):
    tables = _tables(built_catalog)
    row = tables["player_features"].filter(pl.col("games_played") > 15).sort(["series_start", "player_key"]).row(
        -1, named=True)
    state = latest_rows(tables["player_state_history"], ["player_key"], row["series_start"]).filter(
        pl.col("player_key") == row["player_key"]).row(0, named=True)
    assert [state[c] for c in PLAYER_STATE] == [row[c] for c in PLAYER_STATE]
    assert state["last_game_start"] == row["last_game_start"] < row["series_start"]
    # a moment after the series' first game started sees that game too (states are keyed by game start)
    later = latest_rows(tables["player_state_history"], ["player_key"], row["series_start"] + timedelta(seconds=1))
    assert later.filter(pl.col("player_key") == row["player_key"])["games_played"][0] == row["games_played"] + 1
    assert len(CONCEDED) == 5 and np.isfinite(state["games_played"])
