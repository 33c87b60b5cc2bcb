"""The win model's rating prior: the maximum-likelihood logistic fit, its inputs read by name, and a prior saved
by an earlier version (fewer inputs) still answering with its own."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from outscaled.features.schema import TEAM_FEATURES
from outscaled.models.rating_prior import PRIOR_INPUTS, RatingPrior, rating_inputs

COLUMN = {name: i for i, name in enumerate(TEAM_FEATURES)}


def _rows(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Team rows with ratings, sides and form; the outcome drawn from a logistic model of them."""
    rng = np.random.default_rng(seed)
    rows = np.full((n, len(TEAM_FEATURES)), np.nan)
    rows[:, COLUMN["elo_diff"]] = rng.normal(0, 120, n)
    roster = rng.normal(0, 80, n)
    roster[rng.random(n) < 0.2] = np.nan  # unknown roster ratings
    rows[:, COLUMN["roster_elo_diff"]] = roster
    rows[:, COLUMN["is_blue"]] = rng.integers(0, 2, n)
    for prefix in ("", "opponent_"):
        rows[:, COLUMN[f"{prefix}kills_ewm"]] = rng.uniform(8, 20, n)
        rows[:, COLUMN[f"{prefix}deaths_ewm"]] = rng.uniform(8, 20, n)
    logit = rating_inputs(rows, TEAM_FEATURES) @ np.array([1.0, 0.8, -0.1, 0.15, 0.5]) + 0.05
    return rows, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)


def test_the_inputs_are_read_by_name():
    rows, _ = _rows(50)
    inputs = rating_inputs(rows, TEAM_FEATURES)
    assert inputs.shape == (50, len(PRIOR_INPUTS))
    form = ((rows[:, COLUMN["kills_ewm"]] - rows[:, COLUMN["deaths_ewm"]])
            - (rows[:, COLUMN["opponent_kills_ewm"]] - rows[:, COLUMN["opponent_deaths_ewm"]])) / 10
    np.testing.assert_allclose(inputs[:, PRIOR_INPUTS.index("kill_diff_form")], form)
    unknown = np.isnan(rows[:, COLUMN["roster_elo_diff"]])
    assert np.array_equal(inputs[:, PRIOR_INPUTS.index("roster_elo_unknown")], unknown.astype(float))
    assert not np.isnan(inputs).any()  # unknown is 0 (and a flag), never NaN


def test_the_fit_is_the_penalised_maximum_likelihood():
    rows, outcome = _rows(4000)
    prior = RatingPrior.fit(rows, outcome, TEAM_FEATURES)
    reference = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(rating_inputs(rows, TEAM_FEATURES), outcome)
    np.testing.assert_allclose(prior.coefficients, reference.coef_[0], atol=1e-6)
    assert prior.intercept == pytest.approx(reference.intercept_[0], abs=1e-6)


def test_a_prior_saved_with_fewer_inputs_answers_with_its_own():
    rows, outcome = _rows(500)
    older = RatingPrior((1.2, 0.7, -0.05, 0.1), 0.02, PRIOR_INPUTS[:4])
    loaded = RatingPrior.from_dict(older.to_dict())
    assert loaded == older
    expected = rating_inputs(rows, TEAM_FEATURES, PRIOR_INPUTS[:4]) @ np.array(older.coefficients) + older.intercept
    np.testing.assert_allclose(loaded.logit(rows, TEAM_FEATURES), expected)
    with pytest.raises(ValueError, match="not inputs this version computes"):
        RatingPrior.from_dict({"inputs": ["elo_diff", "mystery"], "coefficients": [1.0, 2.0], "intercept": 0.0})
