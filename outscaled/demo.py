"""`outscaled demo`: the main job on real data, end to end, as far as the platform goes today."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

SUMMARY_SQL = """
SELECT league, year(date) AS year, count(DISTINCT game_id) AS games, count(*) AS player_rows
FROM bronze.player_games GROUP BY ALL ORDER BY year, league
"""
SAMPLE_SQL = """
SELECT player_name, team_name, count(*) AS games, round(avg(kills), 2) AS kills_per_game,
       round(avg(assists), 2) AS assists_per_game
FROM bronze.player_games WHERE position = 'mid'
GROUP BY ALL HAVING count(*) >= 10 ORDER BY kills_per_game DESC LIMIT 5
"""


LAYER_COUNTS_SQL = """
SELECT (SELECT count(*) FROM bronze.player_games) AS bronze_player_rows,
       (SELECT count(*) FROM gold.player_features) AS gold_player_feature_rows,
       (SELECT count(*) FROM bronze.team_games) AS bronze_team_rows,
       (SELECT count(*) FROM gold.team_features) AS gold_team_feature_rows,
       (SELECT count(*) FROM silver.series) AS series
"""
FEATURES_SQL = """
SELECT player_name, team_name, cast(series_start AS date) AS series_day, map_number AS map, best_of,
       games_played, round(kills_avg_10, 2) AS kills_last10, round(kills_ewm, 2) AS kills_ewm,
       round(opponent_conceded_kills_avg_10, 2) AS opp_concedes, round(team_elo) AS elo, target_kills AS kills
FROM gold.player_features WHERE position = 'mid' AND games_played >= 20
ORDER BY game_start DESC, player_name LIMIT 6
"""


BACKTEST_SQL = """
SELECT model, method, n, round(log_loss, 4) AS log_loss, round(brier, 4) AS brier, round(accuracy, 3) AS accuracy,
       round(ece, 4) AS ece, round(mae, 3) AS mae
FROM gold.backtest_metrics WHERE scope = 'overall' ORDER BY model, method
"""
REGISTRY_SQL = """
SELECT version, model, status, cast(train_end AS date) AS train_end, reason FROM gold.model_registry
ORDER BY created_at DESC, model LIMIT 10
"""


def run_demo(data: list[Path], ingest: Callable, sql: Callable, materialize: Callable) -> int:
    console.rule("[bold]1. ingest real Oracle's Elixir files into Iceberg (bronze)")
    ingest(argparse.Namespace(paths=data, date_order=[]))
    console.rule("[bold]2. games per league and year (outscaled sql)")
    sql(argparse.Namespace(query=SUMMARY_SQL, format="table"))
    console.rule("[bold]3. sample query: top mid laners by kills per game")
    sql(argparse.Namespace(query=SAMPLE_SQL, format="table"))
    console.rule("[bold]4. transform (dbt on DuckDB), check (Great Expectations), backtest, train, gate, register")
    materialize(argparse.Namespace(select="*"))
    sql(argparse.Namespace(query=LAYER_COUNTS_SQL, format="table"))
    console.rule("[bold]5. point-in-time features (known before each series began) and the actual result")
    sql(argparse.Namespace(query=FEATURES_SQL, format="table"))
    console.rule("[bold]6. walk-forward backtest: model vs baselines (p_over at each player's rolling-median line)")
    sql(argparse.Namespace(query=BACKTEST_SQL, format="table"))
    console.rule("[bold]7. model registry (outscaled models list)")
    sql(argparse.Namespace(query=REGISTRY_SQL, format="table"))
    console.print("Data from Oracle's Elixir. Next: `outscaled sql \"select count(*) from bronze.player_games\"`")
    return 0
