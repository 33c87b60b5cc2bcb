"""The reduced player K/D/A file carries no date, league or result: take them from its team games."""

from __future__ import annotations

import polars as pl

from outscaled.ingest.readers import UnreadableFileError

GAME_CONTEXT = ["date", "league", "year", "split", "playoffs", "patch", "game", "game_length"]


def attach_game_context(player_rows: pl.DataFrame, team_rows: pl.DataFrame, name: str) -> pl.DataFrame:
    """Fill game-level columns, `result` and team kill/death totals for player-only rows.

    `team_rows` are team rows already known (this batch or bronze.team_games). Raises when any game
    has no team rows, because its player rows could not be dated or partitioned.
    """
    context = (team_rows.select("game_id", "team_name", *GAME_CONTEXT, "result")
               .unique(["game_id", "team_name"], keep="first", maintain_order=True))  # the first file's rows
    games = context.drop("team_name", "result").unique("game_id", keep="first", maintain_order=True)
    filled = (player_rows.drop(*GAME_CONTEXT, "result")
              .join(games, on="game_id", how="left")
              .join(context.select("game_id", "team_name", "result"), on=["game_id", "team_name"], how="left"))
    undated = filled.filter(pl.col("date").is_null())
    if not undated.is_empty():
        raise UnreadableFileError(
            f"{name}: line {undated['source_line'].min()}: game {undated['game_id'][0]} has no team rows to "
            f"date it ({undated['game_id'].n_unique()} games); ingest its team-games Parquet file "
            f"(e.g. major_leagues_2025_team_games.parquet) first or in the same run")
    totals = pl.col("kills").sum().over("game_id", "team_name"), pl.col("deaths").sum().over("game_id", "team_name")
    return filled.with_columns(totals[0].alias("team_kills"), totals[1].alias("team_deaths")).select(player_rows.columns)
