"""The tabulated TreeSHAP explainer gives LightGBM's own pred_contrib numbers, on models trained on real
gold features, for real rows (with their NaNs), rows with an opponent blanked out, and odd values."""

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest

from outscaled.config import load_settings
from outscaled.models.estimators import SEED, train_stat_model
from outscaled.features.rows import player_matrix
from outscaled.features.schema import PLAYER_FEATURES
from outscaled.models.pipeline import load_frames
from outscaled.models.treeshap import TreeExplainer, UnsupportedTree


@pytest.fixture(scope="module")
def real_rows(built_home) -> tuple[np.ndarray, np.ndarray]:
    from outscaled.lakehouse.catalog import open_catalog
    from tests.conftest import environment

    with environment(OUTSCALED_HOME=str(built_home)):
        players, _ = load_frames(open_catalog(load_settings()))
    players = players.filter(pl.col("target_kills").is_not_null())
    return player_matrix(players), players["target_kills"].to_numpy().astype(float)


def _probe_rows(matrix: np.ndarray) -> np.ndarray:
    """Real rows, the same rows as served without an opponent (NaN), and rows with zeros and extremes."""
    rng = np.random.default_rng(SEED)
    sample = matrix[rng.choice(len(matrix), 300, replace=False)]
    no_opponent = sample.copy()
    no_opponent[:, [i for i, name in enumerate(PLAYER_FEATURES) if name.startswith("opponent_")]] = np.nan
    odd = sample.copy()
    mask = rng.random(odd.shape)
    odd[mask < 0.1] = 0.0
    odd[(mask >= 0.1) & (mask < 0.15)] = -1e9
    odd[(mask >= 0.15) & (mask < 0.2)] = 1e9
    odd[(mask >= 0.2) & (mask < 0.25)] = np.nan
    return np.vstack([sample, no_opponent, odd])


def test_equals_lightgbm_pred_contrib_on_a_served_model(real_rows):
    matrix, kills = real_rows
    model = train_stat_model("kills", matrix, kills, PLAYER_FEATURES)
    rows = _probe_rows(matrix)
    expected = model.booster.predict(rows, pred_contrib=True)
    explained = TreeExplainer(model.booster).contributions(rows)
    assert explained.shape == expected.shape == (len(rows), len(PLAYER_FEATURES) + 1)
    np.testing.assert_allclose(explained, expected, rtol=0, atol=1e-10)
    # the contributions add up to the raw score, and StatModel.contributions is this explainer
    np.testing.assert_allclose(explained.sum(axis=1), model.booster.predict(rows, raw_score=True), atol=1e-10)
    # StatModel.contributions adds the row's level (the trees' starting point) to the bias: log(mean) in all
    np.testing.assert_array_equal(model.contributions(rows)[:, :-1], explained[:, :-1])
    np.testing.assert_allclose(model.contributions(rows).sum(axis=1), np.log(model.predict_mean(rows)), atol=1e-10)
    for row in rows[::50]:  # one row at a time (the single-prediction path: no tables)
        one = row[None, :]
        np.testing.assert_allclose(TreeExplainer(model.booster).contributions(one),
                                   model.booster.predict(one, pred_contrib=True), rtol=0, atol=1e-10)


@pytest.mark.parametrize("params", [
    {"zero_as_missing": True},  # the "Zero" missing type
    {"use_missing": False},  # the "None" missing type: NaN is read as 0
    {"num_leaves": 63, "min_data_in_leaf": 5, "max_depth": 12},  # deeper paths than the served models
])
def test_equals_lightgbm_for_every_missing_value_rule(real_rows, params):
    matrix, kills = real_rows
    booster = lgb.train({"objective": "poisson", "verbose": -1, "seed": SEED, "num_threads": 1, **params},
                        lgb.Dataset(matrix, label=kills), num_boost_round=30)
    rows = _probe_rows(matrix)
    explainer = TreeExplainer(booster)
    np.testing.assert_allclose(explainer.contributions(rows), booster.predict(rows, pred_contrib=True),
                               rtol=0, atol=1e-10)
    for few in (1, 2, 3):  # the table-free loop below _TABLES_FROM_ROWS, then the tables
        np.testing.assert_allclose(explainer.contributions(rows[-few:]),
                                   booster.predict(rows[-few:], pred_contrib=True), rtol=0, atol=1e-10)


def test_categorical_models_are_left_to_lightgbm(real_rows):
    matrix, kills = real_rows
    booster = lgb.train({"objective": "poisson", "verbose": -1, "num_threads": 1, "min_data_per_group": 5},
                        lgb.Dataset(matrix, label=kills, categorical_feature=[PLAYER_FEATURES.index("best_of")]),
                        num_boost_round=20)
    if '"==' not in str(booster.dump_model()) and "'==" not in str(booster.dump_model()):
        pytest.skip("LightGBM chose no categorical split on this data")
    with pytest.raises(UnsupportedTree):
        TreeExplainer(booster)


def test_rejects_rows_of_the_wrong_width(real_rows):
    matrix, kills = real_rows
    booster = lgb.train({"objective": "poisson", "verbose": -1, "num_threads": 1},
                        lgb.Dataset(matrix, label=kills), num_boost_round=5)
    with pytest.raises(ValueError, match="features"):
        TreeExplainer(booster).contributions(matrix[:, :10])
