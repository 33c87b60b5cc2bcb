"""Team Elo: the SQL fold in int_team_elo.sql equals the sequential Python oracle on real data."""

from datetime import datetime

import duckdb
import pytest

from tests.transforms.elo_oracle import elo_parameters, elo_ratings


def test_oracle_rates_a_game_with_earlier_games_only():
    initial, k_factor = elo_parameters()
    games = [
        {"game_id": "g2", "game_start": datetime(2025, 1, 2), "team_1": "a", "team_2": "b", "winner": "b"},
        {"game_id": "g1", "game_start": datetime(2025, 1, 1), "team_1": "a", "team_2": "b", "winner": "a"},
        {"game_id": "g3", "game_start": datetime(2025, 1, 3), "team_1": "b", "team_2": "c", "winner": None},
    ]
    rows = elo_ratings(games)
    assert rows[("g1", "a")] == (initial, initial + k_factor / 2)
    assert rows[("g2", "a")][0] == rows[("g1", "a")][1]
    assert rows[("g3", "c")] == (initial, initial)  # no known winner: nothing changes
    assert sum(after - before for before, after in rows.values()) == pytest.approx(0.0)  # zero-sum


def test_duckdb_elo_equals_the_oracle_exactly(built_home):
    with duckdb.connect(str(built_home / "transforms.duckdb"), read_only=True) as connection:
        games = connection.sql("select game_id, game_start, team_1, team_2, winner from intermediate.int_games").pl()
        rated = connection.sql("select game_id, team_key, elo_before, elo_after from intermediate.int_team_elo").fetchall()
    expected = elo_ratings(games.to_dicts())
    assert len(rated) == len(expected) == 2 * games.height > 5_000
    assert {(g, t): (before, after) for g, t, before, after in rated} == expected
