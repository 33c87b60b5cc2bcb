"""The live state update equals a full dbt rebuild on the same games: a home built on a real file without
its last two days, those days' games then ingested; the live update's tables (and the snapshot payloads
built from them) against dbt's after a rebuild with those games. Only what the new games touch is recomputed,
and a delta snapshot of the live state serves what a full snapshot of the rebuild serves."""

from __future__ import annotations

import math
import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from outscaled.config import load_settings
from outscaled.features.live_state import BRONZE_PLAYER_COLUMNS, BRONZE_TEAM_COLUMNS, continue_elo, live_update
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.loads import read_as_of_cut
from outscaled.online.snapshot import build_payloads, built_tables
from tests.conftest import SAMPLE_DATA, environment
from tests.transforms.helpers import dbt_build

# the models the snapshot reads, and what they need (dbt's own tests are not what this compares)
SERVING_MODELS = ["--select", "+player_state_history", "+team_state_history", "+team_conceded_state_history",
                  "+position_baseline_history", "+patches", "+player_features", "--exclude", "test_type:data",
                  "test_type:unit"]
KEYS = {"gold.player_state_history": ["player_key", "last_game_start", "last_game_id"],
        "gold.team_state_history": ["team_key", "last_game_start", "last_game_id"],
        "gold.team_conceded_state_history": ["team_key", "position", "last_game_id"],
        "gold.position_baseline_history": ["league", "position", "day"], "gold.patches": ["patch"],
        "games": ["game_id", "champion", "league"]}


def _split_file(source: Path, folder: Path) -> tuple[Path, Path, set[str]]:
    """The real file as two: every game before its last two days, and those days' games (lines unchanged)."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    frame = pl.read_csv(source, infer_schema_length=0)
    days = sorted(frame["date"].str.slice(0, 10).unique().to_list())
    late = set(frame.filter(frame["date"].str.slice(0, 10) >= days[-2])["gameid"].to_list())
    early, held = folder / "early.csv", folder / "held.csv"
    early.write_text(lines[0] + "".join(l for l in lines[1:] if l.split(",", 1)[0] not in late), encoding="utf-8")
    held.write_text(lines[0] + "".join(l for l in lines[1:] if l.split(",", 1)[0] in late), encoding="utf-8")
    return early, held, late


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("live")
    home = folder / "home"
    early, held, late = _split_file(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv", folder)
    with environment(OUTSCALED_HOME=str(home), OUTSCALED_ENV="ci", DAGSTER_HOME=None):
        settings = load_settings()
        catalog = open_catalog(settings)
        ingest_paths(catalog, settings.landing_dir, [early], "early")
        first = dbt_build(home, *SERVING_MODELS)
        assert first.returncode == 0, first.stdout[-3000:]
        built = built_tables(catalog)
        ingest_paths(catalog, settings.landing_dir, [held], "held")
        players = read_as_of_cut(catalog, "bronze.player_games", tuple(BRONZE_PLAYER_COLUMNS))
        teams = read_as_of_cut(catalog, "bronze.team_games", tuple(BRONZE_TEAM_COLUMNS))
        state = live_update(built, players, teams)
        second = dbt_build(home, *SERVING_MODELS)
        assert second.returncode == 0, second.stdout[-3000:]
        full = built_tables(catalog)
        yield {"home": home, "settings": settings, "catalog": catalog, "built": built, "state": state,
               "full": full, "late": late}


def test_the_live_tables_equal_a_full_rebuild_on_the_same_games(rebuilt):
    state, full = rebuilt["state"], rebuilt["full"]
    assert set(state.new_games) == rebuilt["late"] and len(state.new_games) == 10
    for name, keys in KEYS.items():
        live = state.tables[name].sort(keys)
        rebuild = full[name].select(live.columns).sort(keys)
        assert live.height == rebuild.height, name
        assert_frame_equal(live, rebuild, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-12)


def _assert_close(left, right, where: str = "") -> None:
    if isinstance(left, dict):
        assert left.keys() == right.keys(), where
        for k in left:
            _assert_close(left[k], right[k], f"{where}.{k}")
    elif isinstance(left, list):
        assert len(left) == len(right), where
        for i, (a, b) in enumerate(zip(left, right)):
            _assert_close(a, b, f"{where}[{i}]")
    elif isinstance(left, float) and isinstance(right, float):
        assert (math.isnan(left) and math.isnan(right)) or math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12), where
    else:
        assert left == right, where


def test_the_served_payloads_equal_those_of_a_full_rebuild(rebuilt):
    catalog = rebuilt["catalog"]
    live = build_payloads(catalog, None, rebuilt["state"].tables)
    rebuild = build_payloads(catalog, None, rebuilt["full"])
    _assert_close(live, rebuild, "payloads")


def test_only_what_the_new_games_touch_is_recomputed(rebuilt):
    built, state = rebuilt["built"], rebuilt["state"]
    new_rows = state.tables["games"].filter(pl.col("game_id").is_in(state.new_games))
    assert state.leagues == sorted(new_rows["league"].unique().to_list())
    assert len(state.players) == 40 and len(state.teams) == 8  # 10 games of 8 teams' 40 players
    assert state.late_games == []
    for name, key in (("gold.player_state_history", "player_key"), ("gold.team_state_history", "team_key")):
        untouched = (state.players if key == "player_key" else state.teams)
        kept = state.tables[name].filter(~pl.col(key).is_in(untouched)).sort(KEYS[name])
        assert kept.equals(built[name].filter(~pl.col(key).is_in(untouched)).sort(KEYS[name]))  # the build's rows
    # nothing new: nothing recomputed
    again = live_update(rebuilt["full"], *_bronze(rebuilt["catalog"]))
    assert again.new_games == [] and again.tables is not rebuilt["full"] and again.players == []


def _bronze(catalog):
    return (read_as_of_cut(catalog, "bronze.player_games", tuple(BRONZE_PLAYER_COLUMNS)),
            read_as_of_cut(catalog, "bronze.team_games", tuple(BRONZE_TEAM_COLUMNS)))


def test_a_game_older_than_a_teams_last_built_game_is_reported_late():
    from datetime import datetime

    games = pl.DataFrame({"game_id": ["g1"], "game_start": [datetime(2024, 1, 1)], "team_1": ["a"], "team_2": ["b"],
                          "winner": ["a"]})
    ratings, late = continue_elo(games, {"g1"}, {"a": 1500.0, "b": 1500.0}, {"a": (datetime(2024, 2, 1), "g0")})
    assert late == ["g1"]
    assert ratings.filter(pl.col("team_key") == "a")["elo"].item() == pytest.approx(1512.0)
    assert ratings.filter(pl.col("team_key") == "b")["elo"].item() == pytest.approx(1488.0)


def test_a_delta_snapshot_of_the_live_state_serves_what_a_full_snapshot_of_the_rebuild_serves(rebuilt):
    import json

    import redis

    from outscaled.online import snapshot
    from outscaled.online.redis_server import connect, stop_embedded
    from outscaled.online.store import SnapshotStore

    with environment(OUTSCALED_HOME=str(rebuilt["home"]), OUTSCALED_ENV="ci", REDIS_URL=None):
        url = os.environ.get("OUTSCALED_TEST_REDIS_URL")
        client = redis.Redis.from_url(url) if url else connect(rebuilt["settings"])
        try:
            client.delete(*client.keys("outscaled:*") or ["-"])
            catalog = rebuilt["catalog"]
            base = snapshot.publish(client, catalog, {}, tables=rebuilt["built"])
            delta = snapshot.publish(client, catalog, {}, delta=True, tables=rebuilt["state"].tables)
            full = snapshot.publish(client, catalog, {}, tables=rebuilt["full"])
            assert delta.base == base.snapshot_id
            store = SnapshotStore(client)
            players = json.loads(client.get(snapshot.key(full.snapshot_id, "players")))
            teams = json.loads(client.get(snapshot.key(full.snapshot_id, "teams")))
            wanted = [("p", p["key"]) for p in players] + [("t", t["key"]) for t in teams]
            served = store.read_values(delta.snapshot_id, wanted)
            _assert_close(served, store.read_values(full.snapshot_id, wanted))
            # written: exactly the values that differ from the base (the touched players and teams, and the
            # players whose team's form changed); every other value is the base's
            before = store.read_values(base.snapshot_id, wanted)
            differ = [k for k in wanted if before[k] != served[k]]
            touched = len(rebuilt["state"].players) + len(rebuilt["state"].teams)
            assert delta.written == len(differ) and touched <= delta.written < full.written / 2
        finally:
            client.delete(*client.keys("outscaled:*") or ["-"])
            if not url:
                stop_embedded(rebuilt["settings"])
