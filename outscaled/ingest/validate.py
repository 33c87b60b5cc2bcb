"""Game invariants: rows that break them go to quarantine with the reason, never into bronze.

A game must be whole to be useful, so one bad row quarantines its whole game (each row keeps its own
line and reason). Per file: where the file has player rows, each game has exactly 10; where it has
team rows, exactly 2 (team-rows-only and player-rows-only layouts are legitimate). In a batch of events
(`EVENT`: the event each row came in), each event is a game of its own: two events of one game (two real
files hold it) are two copies to choose between, not one game of 20 players.
"""

from __future__ import annotations

import polars as pl

from outscaled.ingest.columns import NON_NEGATIVE_COLUMNS, PLAYER_POSITIONS, SIDES, TEAM_POSITION
from outscaled.ingest.readers import EVENT, ROW_ERRORS, SOURCE_LINE

PLAYERS_PER_GAME = 10
TEAMS_PER_GAME = 2
REASON = "reason"


def row_reasons(rows: pl.DataFrame) -> pl.Expr:
    """One expression: the semicolon-joined problems of each row, "" when it is clean."""
    columns = set(rows.columns)
    checks = [
        pl.when(pl.col(ROW_ERRORS) != "").then(pl.col(ROW_ERRORS)),
        pl.when(pl.col("game_id").is_null()).then(pl.lit("game_id is missing")),
        pl.when(~pl.col("position").is_in([*PLAYER_POSITIONS, TEAM_POSITION]) | pl.col("position").is_null())
        .then(pl.format("unknown position '{}'", pl.col("position").fill_null(""))),
        pl.when(pl.col("side").is_not_null() & ~pl.col("side").is_in(SIDES))
        .then(pl.format("unknown side '{}'", pl.col("side"))),
        pl.when(pl.col("date").is_null()).then(pl.lit("date is missing")),
        pl.when((pl.col("position") != TEAM_POSITION) & (pl.col("kills") > pl.col("team_kills")))
        .then(pl.format("kills {} above team kills {}", pl.col("kills"), pl.col("team_kills"))),
        *[pl.when(pl.col(c) < 0).then(pl.format(f"negative {c} {{}}", pl.col(c)))
          for c in NON_NEGATIVE_COLUMNS if c in columns],
    ]
    return pl.concat_str(checks, separator="; ", ignore_nulls=True).fill_null("")


def split_valid(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, quarantined rows with a `reason` column); the valid rows of an events file keep `EVENT`."""
    if rows.is_empty():
        return rows.drop(ROW_ERRORS), rows.drop(ROW_ERRORS).with_columns(pl.lit("").alias(REASON))
    is_team = pl.col("position") == TEAM_POSITION
    expect_players = bool((rows["position"] != TEAM_POSITION).any())
    expect_teams = bool((rows["position"] == TEAM_POSITION).any())
    checked = rows.with_columns(row_reasons(rows).alias("_row_reason"))
    game = [pl.col("game_id"), *([pl.col(EVENT)] if EVENT in rows.columns else [])]
    checked = checked.with_columns(
        (~is_team).sum().over(game).alias("_players"),
        is_team.sum().over(game).alias("_teams"),
        (pl.col("_row_reason") != "").any().over(game).alias("_game_has_bad_row"),
    )
    game_reasons = [
        pl.when(pl.lit(expect_players) & (pl.col("_players") != PLAYERS_PER_GAME))
        .then(pl.format(f"game has {{}} player rows, expected {PLAYERS_PER_GAME}", pl.col("_players"))),
        pl.when(pl.lit(expect_teams) & (pl.col("_teams") != TEAMS_PER_GAME))
        .then(pl.format(f"game has {{}} team rows, expected {TEAMS_PER_GAME}", pl.col("_teams"))),
        pl.when((pl.col("_row_reason") == "") & pl.col("_game_has_bad_row"))
        .then(pl.lit("another row of this game is invalid")),
    ]
    checked = checked.with_columns(
        pl.concat_str([pl.when(pl.col("_row_reason") != "").then(pl.col("_row_reason")), *game_reasons],
                      separator="; ", ignore_nulls=True).fill_null("").alias(REASON))
    helper = ["_row_reason", "_players", "_teams", "_game_has_bad_row"]
    bad = pl.col(REASON) != ""
    valid = checked.filter(~bad).drop(*helper, REASON, ROW_ERRORS)
    quarantined = checked.filter(bad).drop(*helper, ROW_ERRORS, EVENT, strict=False).sort(SOURCE_LINE)
    return valid, quarantined
