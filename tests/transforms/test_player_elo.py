"""Roster (player) Elo: the SQL fold in int_player_elo.sql equals a sequential Python computation on real data,
and the gold columns built on it (team_features.roster_elo*, team_state_history.roster_elo, player_state_history.elo)
read it as documented."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from tests.transforms.helpers import table

DBT_PROJECT = Path(__file__).resolve().parents[2] / "transforms" / "dbt_project.yml"


def player_elo_parameters() -> tuple[float, float]:
    variables = yaml.safe_load(DBT_PROJECT.read_text())["vars"]
    return float(variables["elo_initial_rating"]), float(variables["player_elo_k_factor"])


def roster_ratings(games: list[dict], players: list[dict]) -> dict[tuple[str, str], tuple[float | None, float | None, int]]:
    """The specification: (game_id, team_key) -> (roster_elo_before, roster_elo_after, roster_players)."""
    return _fold(games, players)[0]


def player_ratings_after(games: list[dict], players: list[dict]) -> dict[tuple[str, str], float | None]:
    """(game_id, player_key) -> the player's rating after the game; None before their first rated game."""
    return _fold(games, players)[1]


def _fold(games: list[dict], players: list[dict]) -> tuple[dict, dict]:
    """The sequential computation both specifications read.

    `games` have game_id, game_start, team_1, team_2, winner; `players` have game_id, team_key, player_key,
    position. A player row's team that is neither of the game's teams (a source naming the team differently)
    is the other team of the game. The roster mean adds the starters in (position, player_key) order, as the
    SQL does, so the two agree to the last bit."""
    initial, k_factor = player_elo_parameters()
    teams_of = {g["game_id"]: (g["team_1"], g["team_2"]) for g in games}
    named = defaultdict(lambda: defaultdict(list))
    for p in players:
        named[p["game_id"]][p["team_key"]].append((p["position"], p["player_key"]))
    ratings: dict[str, float] = {}
    out, after = {}, {}
    for game in sorted(games, key=lambda g: (g["game_start"], g["game_id"])):
        rosters = _rosters(teams_of[game["game_id"]], named.get(game["game_id"], {}))
        team_1, team_2 = game["team_1"], game["team_2"]
        if not (rosters[team_1] and rosters[team_2]):  # no player rows for both teams: nothing is rated
            out[(game["game_id"], team_1)] = out[(game["game_id"], team_2)] = (None, None, 0)
            after.update({(game["game_id"], p): ratings.get(p) for rows in named.get(game["game_id"], {}).values()
                          for _, p in rows})
            continue
        before = {t: sum(ratings.get(p, initial) for p in rosters[t]) / len(rosters[t]) for t in (team_1, team_2)}
        delta = 0.0
        if game["winner"] in (team_1, team_2):
            expected_1 = 1.0 / (1.0 + 10.0 ** ((before[team_2] - before[team_1]) / 400.0))
            delta = k_factor * ((1.0 if game["winner"] == team_1 else 0.0) - expected_1)
        for team, change in ((team_1, delta), (team_2, -delta)):
            for p in rosters[team]:
                ratings[p] = ratings.get(p, initial) + change
            out[(game["game_id"], team)] = (before[team], before[team] + change, len(rosters[team]))
        after.update({(game["game_id"], p): ratings.get(p) for rows in named.get(game["game_id"], {}).values()
                      for _, p in rows})
    return out, after


def _rosters(teams: tuple[str, str], named: dict[str, list]) -> dict[str, list[str]]:
    rosters = {t: [] for t in teams}
    unmatched = [k for k in named if k not in teams]
    matched = [k for k in named if k in teams]
    if len(named) == 2 and len(unmatched) == 1 and matched:
        rosters[teams[1] if matched[0] == teams[0] else teams[0]] = [p for _, p in sorted(named[unmatched[0]])][:5]
    for key in matched:
        rosters[key] = [p for _, p in sorted(named[key])][:5]
    return rosters


def test_oracle_moves_every_starter_and_carries_ratings_across_teams():
    initial, k_factor = player_elo_parameters()
    day = datetime(2025, 1, 1)
    games = [{"game_id": "g1", "game_start": day, "team_1": "a", "team_2": "b", "winner": "a"},
             {"game_id": "g2", "game_start": day.replace(day=2), "team_1": "b", "team_2": "c", "winner": None},
             {"game_id": "g3", "game_start": day.replace(day=3), "team_1": "c", "team_2": "d", "winner": "d"}]
    players = [*({"game_id": "g1", "team_key": "a", "player_key": f"a{i}", "position": str(i)} for i in range(5)),
               *({"game_id": "g1", "team_key": "b", "player_key": f"b{i}", "position": str(i)} for i in range(5)),
               # team c fields two of a's players (a transfer), d fields five new ones under another name
               *({"game_id": "g3", "team_key": "c", "player_key": p, "position": str(i)}
                 for i, p in enumerate(["a0", "a1", "c2", "c3", "c4"])),
               *({"game_id": "g3", "team_key": "renamed d", "player_key": f"d{i}", "position": str(i)} for i in range(5))]
    rows = roster_ratings(games, players)
    assert rows[("g1", "a")] == (initial, initial + k_factor / 2, 5)
    assert rows[("g2", "b")] == (None, None, 0)  # team-rows-only game
    assert rows[("g3", "c")][0] == pytest.approx(initial + 2 * k_factor / 2 / 5)
    assert rows[("g3", "d")][2] == 5


def test_duckdb_roster_elo_equals_the_oracle_exactly(built_home):
    with duckdb.connect(str(built_home / "transforms.duckdb"), read_only=True) as connection:
        games = connection.sql("select game_id, game_start, team_1, team_2, winner from intermediate.int_games").pl()
        players = connection.sql("select game_id, team_key, player_key, position from intermediate.int_player_games").pl()
        rated = connection.sql("""select game_id, team_key, roster_elo_before, roster_elo_after, roster_players
                                  from intermediate.int_player_elo""").fetchall()
    expected = roster_ratings(games.to_dicts(), players.to_dicts())
    assert len(rated) == len(expected) == 2 * games.height
    assert sum(1 for _, _, _, _, n in rated if n == 5) > 5_000  # the sample has player rows for most games
    assert {(g, t): (before, after, n) for g, t, before, after, n in rated} == expected


def _oracle_inputs(built_home: Path) -> tuple[list[dict], list[dict]]:
    with duckdb.connect(str(built_home / "transforms.duckdb"), read_only=True) as connection:
        games = connection.sql("select game_id, game_start, team_1, team_2, winner from intermediate.int_games").pl()
        players = connection.sql("select game_id, team_key, player_key, position from intermediate.int_player_games").pl()
    return games.to_dicts(), players.to_dicts()


def test_team_state_history_carries_the_roster_rating_after_each_game(built_home, built_catalog):
    expected = roster_ratings(*_oracle_inputs(built_home))
    history = table(built_catalog, "gold.team_state_history")
    rated = 0
    for team_key, game_id, roster_elo in history.select("team_key", "last_game_id", "roster_elo").iter_rows():
        want = expected[(game_id, team_key)][1]
        assert (roster_elo is None) == (want is None), (team_key, game_id)
        if want is not None:
            rated += 1
            assert roster_elo == pytest.approx(want, rel=1e-12), (team_key, game_id)
    assert rated > 5_000


def test_player_state_history_carries_each_players_rating_after_each_game(built_home, built_catalog):
    """The initial rating plus every change of the player's rated games so far (summed in SQL, added one by one
    in the specification): across teams, null before a player's first rated game."""
    expected = player_ratings_after(*_oracle_inputs(built_home))
    history = table(built_catalog, "gold.player_state_history")
    assert history.height == len(expected)
    for player_key, game_id, elo in history.select("player_key", "last_game_id", "elo").iter_rows():
        want = expected[(game_id, player_key)]
        assert (elo is None) == (want is None), (player_key, game_id)
        if want is not None:
            assert elo == pytest.approx(want, rel=1e-12), (player_key, game_id)
    assert history["elo"].null_count() < history.height / 10


def test_team_features_take_the_roster_rating_of_the_last_lineup_before_the_series(built_home, built_catalog):
    """Known before the series (the lineup each team fielded in its last game before it, rated after that game),
    never the series' own starters."""
    games, players = _oracle_inputs(built_home)
    expected = roster_ratings(games, players)
    start = {g["game_id"]: g["game_start"] for g in games}
    played: dict[str, list[tuple]] = defaultdict(list)
    for g in games:
        for team in (g["team_1"], g["team_2"]):
            played[team].append((g["game_start"], g["game_id"]))
    for team in played:
        played[team].sort()
    features = table(built_catalog, "gold.team_features")
    rated = 0
    for team_key, series_start, roster_elo in features.select("team_key", "series_start", "roster_elo").iter_rows():
        before = [game_id for game_start, game_id in played[team_key] if game_start < series_start]
        want = expected[(before[-1], team_key)][1] if before else None
        assert (roster_elo is None) == (want is None), (team_key, series_start)
        if want is not None:
            rated += 1
            assert roster_elo == pytest.approx(want, rel=1e-12) and start[before[-1]] < series_start
    assert rated > 5_000
    opponent = features.select("game_id", pl.col("team_key").alias("opponent_key"),
                               pl.col("roster_elo").alias("their_roster_elo"))
    both = features.join(opponent, on=["game_id", "opponent_key"])
    assert both.filter(pl.col("opponent_roster_elo").ne_missing(pl.col("their_roster_elo"))).is_empty()
    assert (both["roster_elo_diff"] - (both["roster_elo"] - both["opponent_roster_elo"])).abs().max() < 1e-9
