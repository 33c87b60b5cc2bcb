"""The prediction_feedback asset materialized by Dagster: logged predictions settled on the bundled real
games, with the scores, the arms' comparison and a calibration plot as metadata, and the settled rows
queryable with `outscaled analytics`."""

from __future__ import annotations

from datetime import timedelta, timezone

import polars as pl
from dagster import materialize

from assets.analytics import prediction_feedback
from assets.resources import LakehouseResource
from outscaled.analytics.owner import open_store
from outscaled.analytics.store import FEEDBACK, PREDICTIONS, run_query
from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.loads import read_as_of_cut
from tests.conftest import environment


def test_prediction_feedback_settles_and_publishes(home, settings, built_home):
    with environment(OUTSCALED_HOME=str(built_home)):
        built = load_settings()
    games = read_as_of_cut(open_catalog(built), "gold.player_features",
                           ("player_name", "series_id", "series_start", "map_number", "target_kills"))
    firsts = (games.filter(pl.col("map_number") == 1).sort(["series_start", "series_id", "player_name"]).head(40))
    rows = [{"request_id": f"req{i}:0", "ts": (r["series_start"] - timedelta(hours=2)).replace(tzinfo=timezone.utc)
             .timestamp(), "key_id": "key-a", "endpoint": "/predict", "player": r["player_name"], "stat": "kills",
             "line": 2.5, "map_start": 1, "map_end": 1, "p_over": 0.35 + 0.01 * i, "model_version": "v1",
             "arm": "champion" if i % 2 else "challenger", "shadow_version": "v2" if i % 2 else "",
             "shadow_outputs": {"p_over": 0.5} if i % 2 else ""}
            for i, r in enumerate(firsts.iter_rows(named=True))]
    with open_store(settings) as store:
        store.insert(PREDICTIONS, rows)

    result = materialize([prediction_feedback], resources={"lakehouse": LakehouseResource.from_settings(built)})
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["newly_settled"].value == 40 and metadata["waiting_for_results"].value == 0
    assert "| model_version | arm | stat | maps |" in metadata["metrics"].value
    assert "p_challenger_better_hit_rate" in metadata["arms"].value
    assert metadata["calibration"].value.startswith("![calibration](data:image/png;base64,")
    assert (settings.home / "analytics" / "plots" / "prediction_feedback_calibration.png").stat().st_size > 1000

    outcomes = pl.from_arrow(run_query(settings, f"SELECT request_id, actual, outcome FROM {FEEDBACK} FINAL"))
    real = {f"req{i}:0": r["target_kills"] for i, r in enumerate(firsts.iter_rows(named=True))}
    assert {r["request_id"]: r["actual"] for r in outcomes.to_dicts()} == real
    assert all(r["outcome"] == int(real[r["request_id"]] > 2.5) for r in outcomes.to_dicts())
