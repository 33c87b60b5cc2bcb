from datetime import datetime

import pyarrow as pa
import pytest

from outscaled.features.elo import INITIAL_RATING, K_FACTOR, elo_ratings, expected_score


def test_expected_score_is_symmetric():
    assert expected_score(1600, 1400) + expected_score(1400, 1600) == pytest.approx(1.0)
    assert expected_score(1500, 1500) == 0.5


def test_ratings_before_a_game_use_only_earlier_games():
    games = pa.table({
        "game_id": ["g2", "g1", "g3"],
        "game_start": [datetime(2025, 1, 2), datetime(2025, 1, 1), datetime(2025, 1, 3)],
        "team_1": ["a", "a", "b"], "team_2": ["b", "b", "c"], "winner": ["b", "a", "c"],
    })
    rows = {(r["game_id"], r["team_key"]): r for r in elo_ratings(games).to_pylist()}
    assert rows[("g1", "a")]["elo_before"] == INITIAL_RATING
    assert rows[("g1", "a")]["elo_after"] == INITIAL_RATING + K_FACTOR / 2
    assert rows[("g2", "a")]["elo_before"] == rows[("g1", "a")]["elo_after"]
    assert rows[("g3", "c")]["elo_before"] == INITIAL_RATING
    total = sum(r["elo_after"] - r["elo_before"] for r in rows.values())
    assert total == pytest.approx(0.0)  # zero-sum
