"""Training and backtesting on real gold features: determinism, walk-forward discipline, evaluate."""

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from outscaled.config import load_settings
from outscaled.models.backtest import fit_bundle, walk_forward
from outscaled.models.estimators import train_stat_model, train_win_model
from outscaled.features.rows import player_matrix, team_matrix
from outscaled.features.schema import PLAYER_FEATURES, TEAM_FEATURES, one_row_per_game
from outscaled.models.pipeline import load_frames

CUT = datetime(2025, 9, 1)


@pytest.fixture(scope="module")
def frames(built_home):
    from outscaled.lakehouse.catalog import open_catalog
    from tests.conftest import environment

    with environment(OUTSCALED_HOME=str(built_home)):
        return load_frames(open_catalog(load_settings()))


def test_training_is_deterministic(frames):
    players, teams = frames
    first = fit_bundle(players, teams, CUT)
    second = fit_bundle(players, teams, CUT)
    sample = player_matrix(players.filter(pl.col("series_start") >= CUT).head(500))
    for stat in first.stats:
        assert np.array_equal(first.stats[stat].predict_mean(sample), second.stats[stat].predict_mean(sample))
        assert first.stats[stat].nb_size == second.stats[stat].nb_size
    assert first.stats["kills"].booster.model_to_string() == second.stats["kills"].booster.model_to_string()


def test_models_trained_side_by_side_equal_models_trained_alone(frames):
    # fit_bundle trains its five boosters at once, one thread each: running beside each other changes nothing
    players, teams = frames
    bundle = fit_bundle(players, teams, CUT, layers=False)
    train = players.filter(pl.col("game_start") < CUT)
    matrix = player_matrix(train)
    for stat, model in bundle.stats.items():
        target = train[f"target_{stat}"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        alone = train_stat_model(stat, matrix, target, PLAYER_FEATURES)
        assert _trees(model.booster) == _trees(alone.booster), stat
        assert model.nb_size == alone.nb_size
    games = one_row_per_game(teams.filter(pl.col("game_start") < CUT))
    win = train_win_model(team_matrix(games), games["target_result"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                          TEAM_FEATURES)
    assert _trees(bundle.win.booster) == _trees(win.booster)


def _trees(booster) -> str:
    """The model text from its first tree to the last (the header names the parameters, threads included)."""
    text = booster.model_to_string()
    return text[text.index("Tree=0"):text.index("end of trees")]


def test_walk_forward_trains_only_on_games_before_each_month(frames):
    players, teams = frames
    result = walk_forward(players, teams, first_month=CUT)
    assert result.months and result.months[0] == "2025-09"
    predictions = result.player_predictions
    for month in result.months:
        start = datetime.strptime(month, "%Y-%m")
        assert (predictions.filter(pl.col("month") == month)["series_start"] >= start).all()
    assert fit_bundle(players, teams, CUT).rows == players.filter(pl.col("game_start") < CUT).height
    metrics = result.metrics()
    assert metrics["kills"]["n"] > 500
    assert set(metrics["kills"]["baselines"]) == {"rolling_poisson", "mvp_normal"}
    assert metrics["win"]["n"] > 50 and set(metrics["win"]["baselines"]) == {"elo"}
    # calibrated probabilities stay probabilities, and the curve is monotone in the line
    assert predictions["p_over"].is_between(0, 1).all()


def test_reference_lines_come_from_earlier_series_only(frames):
    players, _ = frames
    first_games = players.sort("game_start").group_by("player_key").first()
    assert (first_games["history_kills"] == 0).all()
    later = players.filter(pl.col("history_kills") > 0)
    assert (later["line_kills"] * 2 % 2 == 1).all()
