"""`outscaled evaluate` on the served champions: every model scored, the layers' served modes included, and
the user's own tables untouched (it works in a scratch home)."""

import math
from datetime import datetime

from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.models.evaluate import evaluate
from outscaled.features.schema import STATS
from outscaled.models.registry import champions, read_registry
from outscaled.models.store import load_bundle
from tests.conftest import SAMPLE_DATA


def _snapshots(catalog) -> dict[str, int | None]:
    """Every table's current snapshot id."""
    found = {}
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            snapshot = catalog.load_table(identifier).current_snapshot()
            found[".".join(identifier)] = snapshot.snapshot_id if snapshot else None
    return found


def test_evaluate_scores_every_served_model_and_mode_in_a_scratch_home(served_settings):
    settings = load_settings()
    catalog = open_catalog(settings)
    serving = champions(read_registry(catalog))
    before = _snapshots(catalog)
    result = evaluate(settings, [SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"], datetime(2024, 1, 1))
    assert _snapshots(open_catalog(settings)) == before  # nothing written to the user's tables
    assert set(result) == {*STATS, "win"}
    for stat in STATS:
        metrics = result[stat]
        if stat not in serving:  # this short walk-forward on the sample may gate a stat out (CS has few rows)
            assert metrics == {"n": 0, "note": "no champion model"}
            continue
        assert metrics["n"] > 100, stat
        assert 0 < metrics["model"]["log_loss"] < 1.5 and set(metrics["baselines"]) == {"rolling_poisson", "mvp_normal"}
        layers = load_bundle(settings, serving[stat]).layers
        expected_modes = {"model_meta", "model_post_draft"} if layers is not None else set()
        assert set(metrics["variants"]) == expected_modes, stat
        for values in metrics["variants"].values():
            assert math.isfinite(values["log_loss"]) and 0 <= values["ece"] <= 1
    assert sum(stat in serving for stat in STATS) >= 3
    assert any(load_bundle(settings, serving[stat]).layers is not None for stat in STATS if stat in serving)
    assert result["win"]["n"] > 50 and 0 < result["win"]["model"]["log_loss"] < 1.5
