"""`dbt build` on its own (models + dbt tests) writes silver and gold Iceberg tables every engine can read."""

import polars as pl

from outscaled.lakehouse.sql import run_query
from tests.transforms.helpers import table


def test_gold_has_one_feature_row_per_bronze_row(built_catalog):
    counts = run_query(built_catalog, """
        select (select count(*) from gold.player_features), (select count(*) from bronze.player_games),
               (select count(*) from gold.team_features), (select count(*) from bronze.team_games)""").fetchone()
    assert counts[0] == counts[1] > 30_000
    assert counts[2] == counts[3]


def test_state_history_has_one_row_per_player_game(built_catalog):
    state = table(built_catalog, "gold.player_state_history")
    features = table(built_catalog, "gold.player_features")
    assert state.height == features.height and state["player_key"].n_unique() == features["player_key"].n_unique()


def test_feature_columns_cover_the_issue(built_catalog):
    columns = set(table(built_catalog, "gold.player_features").columns)
    for stat in ("kills", "deaths", "assists", "cs", "damage_share", "kill_participation", "gold_share"):
        assert {f"{stat}_avg_3", f"{stat}_avg_5", f"{stat}_avg_10", f"{stat}_avg_20", f"{stat}_ewm"} <= columns
    assert {"games_played", "days_since_last_game", "position_baseline_kills", "team_win_avg_10",
            "opponent_conceded_kills_avg_10", "league", "playoffs", "best_of", "map_number", "patch",
            "days_since_patch", "champion_pick_rate", "champion_ban_rate", "champion_games", "team_elo",
            "opponent_elo", "target_kills", "target_cs"} <= columns


def test_first_game_of_a_player_has_no_history(built_catalog):
    features = table(built_catalog, "gold.player_features")
    first = features.sort("game_start").group_by("player_key").first()
    assert (first["games_played"] == 0).all()
    assert first["kills_avg_10"].null_count() == first.height


def test_duckdb_runs_under_the_memory_limit_outscaled_sets(tmp_path):
    """profiles.yml gives DuckDB OUTSCALED_DUCKDB_MEMORY_LIMIT (dbt_environment: half the machine unless set),
    so a large build spills to disk instead of outgrowing the machine with DuckDB's own 80% default."""
    import os
    import subprocess

    from outscaled.config import dbt_environment, load_settings
    from tests.conftest import environment
    from tests.transforms.helpers import DBT, TRANSFORMS

    with environment(OUTSCALED_HOME=str(tmp_path), OUTSCALED_DUCKDB_MEMORY_LIMIT="1536MiB"):
        env = {**os.environ, **dbt_environment(load_settings())}
    shown = subprocess.run([DBT, "show", "--profiles-dir", str(TRANSFORMS), "--inline",
                            "select current_setting('memory_limit') as memory_limit", "--output", "json"],
                           cwd=TRANSFORMS, env=env, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stdout[-2000:]
    assert '"memory_limit": "1.5 GiB"' in shown.stdout
