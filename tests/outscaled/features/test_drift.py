import numpy as np
import polars as pl
from datetime import datetime, timedelta

from outscaled.features.drift import DriftWindow, feature_drift, population_stability_index


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 20_000)
    assert population_stability_index(reference, rng.normal(0, 1, 5_000)) < 0.01
    assert population_stability_index(reference, rng.normal(1, 1, 5_000)) > 0.2


def test_psi_ignores_missing_values_and_handles_empty_input():
    values = np.array([1.0, 2.0, np.nan, 3.0, 4.0] * 100)
    assert population_stability_index(values, values) < 1e-9
    assert np.isnan(population_stability_index(values, np.array([np.nan])))


def test_feature_drift_flags_only_the_shifted_feature():
    rng = np.random.default_rng(1)
    start = datetime(2025, 1, 1)
    frame = pl.DataFrame({
        "game_start": [start + timedelta(hours=i) for i in range(2000)],
        "stable": rng.normal(0, 1, 2000),
        "shifted": np.concatenate([rng.normal(0, 1, 1500), rng.normal(2, 1, 500)]),
    })
    split = start + timedelta(hours=1500)
    drift = feature_drift(frame, DriftWindow(split, split), columns=["stable", "shifted"])
    assert dict(zip(drift["feature"], drift["drifted"])) == {"stable": False, "shifted": True}
