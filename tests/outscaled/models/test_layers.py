"""The adjustment layers: the shrinkage maths on hand-made numbers, then the walk-forward layers on real
out-of-fold rows (no factor may see the game it adjusts or any later one) and their round trip."""

import math
from datetime import datetime

import numpy as np
import polars as pl
import pytest

from outscaled.config import load_settings
from outscaled.models.backtest import walk_forward
from outscaled.models.layers import LAYERS, Layers, fit_layers, shrunk_factor, with_layers
from outscaled.models.pipeline import load_frames

CUT = datetime(2025, 9, 1)
FACTORS = [f"{layer.name}_factor" for layer in LAYERS]
OUTPUTS = [*FACTORS, "expected_meta", "expected_post_draft", "p_over_meta", "p_over_post_draft"]


def test_factor_is_one_without_evidence_and_tends_to_the_observed_ratio():
    # no games, too few games, or an infinite prior: no adjustment
    assert shrunk_factor(np.array([0.0]), np.array([0.0]), np.array([0.0]), 10, 5)[0] == 1.0
    assert shrunk_factor(np.array([4.0]), np.array([20.0]), np.array([10.0]), 10, 5)[0] == 1.0
    assert shrunk_factor(np.array([50.0]), np.array([100.0]), np.array([50.0]), math.inf, 5)[0] == 1.0
    # observed twice the prediction: the factor moves from 1 toward 2 as games accumulate, never past it
    games = np.array([5.0, 20.0, 100.0, 1000.0, 100000.0])
    factor = shrunk_factor(games, 2.0 * games, games, 20, 5)
    assert np.all(np.diff(factor) > 0) and np.all(factor < 2.0) and factor[-1] == pytest.approx(2.0, abs=1e-3)
    # (a + sum y) / (a + sum m) with a = prior games x mean prediction per game
    assert factor[1] == pytest.approx((20 * 1.0 + 40.0) / (20 * 1.0 + 20.0))
    # stronger priors shrink more
    assert shrunk_factor(games[1:2], 2 * games[1:2], games[1:2], 200, 5)[0] < factor[1]


@pytest.fixture(scope="module")
def out_of_fold(built_home):
    from outscaled.lakehouse.catalog import open_catalog
    from tests.conftest import environment

    with environment(OUTSCALED_HOME=str(built_home)):
        players, teams = load_frames(open_catalog(load_settings()))
    return walk_forward(players, teams, first_month=CUT).player_predictions


def test_walk_forward_rows_carry_both_modes(out_of_fold):
    assert set(OUTPUTS) <= set(out_of_fold.columns)
    assert out_of_fold["p_over_post_draft"].is_between(0, 1).all()
    # the first games of a champion (and of every patch) have no earlier evidence: factor exactly 1
    first = out_of_fold.sort("game_start").group_by("stat", "champion_key").first()
    assert (first["champion_factor"] == 1.0).all() and (first["player_champion_factor"] == 1.0).all()
    thin = out_of_fold.filter(pl.col("champion_games") < LAYERS[1].min_games)
    assert (thin["champion_factor"] == 1.0).all()


def test_no_factor_sees_its_own_game_or_later_games(out_of_fold):
    """Change every target from a cut inside the walk-forward on: nothing of earlier series may move."""
    cut = out_of_fold["series_start"].sort()[out_of_fold.height // 2]
    altered = out_of_fold.with_columns(
        pl.when(pl.col("game_start") >= cut).then(pl.col("target") * 3 + 2).otherwise(pl.col("target")).alias("target"))
    before = with_layers(out_of_fold).sort("game_id", "player_key", "stat")
    after = with_layers(altered).sort("game_id", "player_key", "stat")
    earlier = (before["series_start"] <= cut).to_numpy()
    for column in OUTPUTS:
        np.testing.assert_array_equal(before[column].to_numpy()[earlier], after[column].to_numpy()[earlier],
                                      err_msg=column)
    # the check has teeth: later series do see the changed games
    assert not np.array_equal(before["champion_factor"].to_numpy()[~earlier], after["champion_factor"].to_numpy()[~earlier])


def test_fitted_layers_use_only_games_before_the_cut_and_survive_a_round_trip(out_of_fold):
    cut = out_of_fold["series_start"].sort()[out_of_fold.height // 2]
    layers = fit_layers(out_of_fold, cut)
    later = out_of_fold.filter(pl.col("game_start") >= cut)
    changed = fit_layers(pl.concat([out_of_fold.filter(pl.col("game_start") < cut),
                                    later.with_columns((pl.col("target") + 5).alias("target"))]), cut)
    for layer in LAYERS:
        assert layers.tables[layer.name].equals(changed.tables[layer.name])
    assert layers.priors == changed.priors
    again = Layers.from_files(layers.to_files())
    assert again.priors == layers.priors and again.champions == layers.champions
    champion = layers.tables["champion"].sort("games", descending=True).row(0, named=True)
    keys = [(champion["champion_key"],), ("not a champion",)]
    np.testing.assert_allclose(again.factors("champion", champion["stat"], keys)[0],
                               layers.factors("champion", champion["stat"], keys)[0])
    assert layers.factors("champion", champion["stat"], keys)[1].tolist() == [champion["games"], 0.0]
