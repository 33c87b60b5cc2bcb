"""`outscaled demo`: the main job on real data, end to end, as far as the platform goes today."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

console = Console(stderr=True)

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


def run_demo(data: list[Path], ingest: Callable, sql: Callable) -> int:
    console.rule("[bold]1. ingest real Oracle's Elixir files into Iceberg (bronze)")
    ingest(argparse.Namespace(paths=data, date_order=[]))
    console.rule("[bold]2. games per league and year (outscaled sql)")
    sql(argparse.Namespace(query=SUMMARY_SQL, format="table"))
    console.rule("[bold]3. sample query: top mid laners by kills per game")
    sql(argparse.Namespace(query=SAMPLE_SQL, format="table"))
    console.print("Data from Oracle's Elixir. Next: `outscaled sql \"select count(*) from bronze.player_games\"`")
    return 0
