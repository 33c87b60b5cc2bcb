"""`outscaled evaluate`: score the current champion models on a user's own files, never touching their tables.

The user's ingested files (from the landing area) and the new files are ingested into a scratch home,
the dbt project builds point-in-time features there, and the champions score every game dated on or
after `since` exactly as the backtest does (features from history strictly before each series). A champion
with adjustment layers is also scored in each served mode (`model_meta`: the patch layer, what a request
without a champion gets; `model_post_draft`: with the champion the player drafted), as the service applies
them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import polars as pl

from outscaled.config import PROJECT_ROOT, Environment, Settings, dbt_environment
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.loads import read_as_of_cut
from outscaled.features.schema import STATS
from outscaled.models.layers import with_served_layers
from outscaled.models.pipeline import load_frames
from outscaled.models.registry import champions, read_registry
from outscaled.models.scoring import score_stat, score_win, stat_metrics, win_metrics
from outscaled.models.store import load_bundle


def _scratch_settings(settings: Settings, home: Path) -> Settings:
    return replace(settings, environment=Environment.CI, home=home, catalog_uri=f"sqlite:///{home / 'catalog.db'}",
                   catalog_type="sql", warehouse=(home / "warehouse").as_uri(), watch_dir=home / "inbox")


def _build_features(settings: Settings) -> None:
    """dbt on the scratch home's catalog, its target and logs in that home too (not in transforms/)."""
    dbt = str(Path(sys.executable).parent / "dbt")
    env = {**os.environ, **dbt_environment(settings), "OUTSCALED_DBT_TARGET": "duckdb"}
    result = subprocess.run([dbt, "build", "--profiles-dir", ".", "--select", "+player_features", "+team_features"],
                            cwd=PROJECT_ROOT / "transforms", env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("building features for the evaluation failed:\n" + result.stdout[-3000:])


def evaluate(settings: Settings, data: list[Path], since: datetime, progress=lambda _: None) -> dict:
    catalog = open_catalog(settings)
    serving = champions(read_registry(catalog))
    if not serving:
        raise RuntimeError("no champion models yet; train first (outscaled materialize)")
    missing = [m for m in (*STATS, "win") if m not in serving]
    if missing:  # e.g. CS with too few games with CS to pass the gate: the others are still scored
        progress(f"no champion model for {', '.join(missing)}: not scored")
    known_files = []
    if catalog.table_exists("bronze.source_files"):
        known_files = [Path(p) for p in read_as_of_cut(catalog, "bronze.source_files", ("landed_path",))
                       ["landed_path"].to_list() if Path(p).exists()]
    with tempfile.TemporaryDirectory(prefix="outscaled-evaluate-") as scratch:
        scratch_settings = _scratch_settings(settings, Path(scratch))
        scratch_catalog = open_catalog(scratch_settings)
        progress(f"ingesting {len(known_files)} known file(s) and {len(data)} new path(s) into a scratch home")
        ingest_paths(scratch_catalog, scratch_settings.landing_dir, [*known_files, *data], "evaluate")
        progress("building point-in-time features (dbt)")
        _build_features(scratch_settings)
        players, teams = load_frames(scratch_catalog)
    scored_players = players.filter(pl.col("game_start") >= since)
    history = players.filter(pl.col("game_start") < since)
    bundles = {version: load_bundle(settings, version) for version in set(serving.values())}
    trained_until = min(bundle.train_end for bundle in bundles.values())
    in_sample = scored_players.filter(pl.col("game_start") < trained_until)["game_id"].n_unique()
    if in_sample:
        progress(f"warning: {in_sample} of the scored games are older than the champion's training end "
                 f"({trained_until:%Y-%m-%d}); their scores are in-sample, not a fair test")
    result: dict = {model: {"n": 0, "note": "no champion model"} for model in missing}
    for stat in (s for s in STATS if s in serving):
        fallback = float(history[f"target_{stat}"].mean() or players[f"target_{stat}"].mean() or 0.0)
        bundle = bundles[serving[stat]]
        scored = score_stat(bundle.stats[stat], scored_players, fallback)
        if bundle.layers is not None:
            scored = with_served_layers(bundle.layers, scored)
        result[stat] = stat_metrics(scored)
    if "win" in serving:
        result["win"] = win_metrics(score_win(bundles[serving["win"]].win, teams.filter(pl.col("game_start") >= since)))
    return {model: result[model] for model in (*STATS, "win")}
