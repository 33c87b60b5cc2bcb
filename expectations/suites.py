"""The expectation suites, one per table. Group-level rules (rows per game) are checked on derived
columns added by `prepare_*`, because GX's pandas backend has no group-count expectation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import great_expectations.expectations as gxe
import pandas as pd

POSITIONS = ["top", "jng", "mid", "bot", "sup"]
SIDES = ["Blue", "Red"]
FIRST_DATE = datetime(2010, 1, 1)
LAST_DATE = datetime(2035, 12, 31)


@dataclass(frozen=True)
class Suite:
    name: str
    table: str
    columns: list[str]  # only these are read from the table
    expectations: Callable[[], list]
    prepare: Callable[[pd.DataFrame], pd.DataFrame] = lambda frame: frame
    # Set where every expectation is about one game's rows: the check then validates the games written since
    # the snapshot it last passed on, with all their stored rows (outscaled.lakehouse.increments).
    game_key: str | None = None


def _rows_per_game(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["rows_in_game"] = frame.groupby("game_id")["game_id"].transform("size")
    return frame


def _bronze_players() -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="game_id"),
        # the reduced layout has no side: those rows are checked by rows_in_game only
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["game_id", "side", "position"],
                                            ignore_row_if="any_value_is_missing"),
        gxe.ExpectColumnValuesToBeInSet(column="rows_in_game", value_set=[10]),
        gxe.ExpectColumnValuesToBeInSet(column="position", value_set=POSITIONS),
        gxe.ExpectColumnValuesToBeInSet(column="side", value_set=SIDES, mostly=1.0),
        *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in ("kills", "deaths", "assists")],
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="team_kills", column_B="kills", or_equal=True,
                                                    ignore_row_if="either_value_is_missing"),
        gxe.ExpectColumnValuesToBeBetween(column="date", min_value=FIRST_DATE, max_value=LAST_DATE),
        gxe.ExpectColumnValuesToNotBeNull(column="player_name", mostly=0.99),
        gxe.ExpectColumnValuesToNotBeNull(column="league"),
        gxe.ExpectColumnValuesToBeBetween(column="kills", max_value=40),
    ]


def _bronze_teams() -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="game_id"),
        gxe.ExpectColumnValuesToBeInSet(column="rows_in_game", value_set=[2]),
        gxe.ExpectColumnValuesToBeInSet(column="side", value_set=SIDES, mostly=1.0),
        gxe.ExpectColumnValuesToBeInSet(column="result", value_set=[0, 1]),
        gxe.ExpectColumnValuesToBeBetween(column="game_length", min_value=300, max_value=7200),
        gxe.ExpectColumnValuesToBeBetween(column="date", min_value=FIRST_DATE, max_value=LAST_DATE),
    ]


def _series() -> list:
    return [
        gxe.ExpectColumnValuesToBeUnique(column="series_id"),
        gxe.ExpectColumnValuesToBeInSet(column="best_of", value_set=[1, 2, 3, 5, 7], mostly=0.99),
        gxe.ExpectColumnValuesToBeBetween(column="maps_played", min_value=1, max_value=5, mostly=0.99),
        gxe.ExpectColumnValuesToNotBeNull(column="series_start"),
    ]


def _player_features() -> list:
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["game_id", "player_key"]),
        gxe.ExpectColumnValuesToBeInSet(column="rows_in_game", value_set=[10]),
        gxe.ExpectColumnValuesToBeBetween(column="games_played", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="kills_avg_5", min_value=0, max_value=40),
        gxe.ExpectColumnValuesToBeBetween(column="days_since_last_game", min_value=0),
        gxe.ExpectColumnValuesToNotBeNull(column="kills_avg_10", mostly=0.5),
        gxe.ExpectColumnValuesToBeBetween(column="team_elo", min_value=1000, max_value=2200),
        gxe.ExpectColumnValuesToNotBeNull(column="target_kills"),
    ]


def _team_features() -> list:
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["game_id", "team_key"]),
        gxe.ExpectColumnValuesToBeInSet(column="rows_in_game", value_set=[2]),
        gxe.ExpectColumnValuesToBeBetween(column="win_avg_10", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="elo", min_value=1000, max_value=2200),
        gxe.ExpectColumnValuesToBeInSet(column="target_result", value_set=[0, 1]),
    ]


SUITES: dict[str, Suite] = {
    "bronze.player_games": Suite(
        "bronze_player_games", "bronze.player_games",
        ["game_id", "side", "position", "player_name", "league", "date", "kills", "deaths", "assists", "team_kills"],
        _bronze_players, _rows_per_game, game_key="game_id"),
    "bronze.team_games": Suite(
        "bronze_team_games", "bronze.team_games", ["game_id", "side", "result", "game_length", "date"],
        _bronze_teams, _rows_per_game, game_key="game_id"),
    "silver.series": Suite("silver_series", "silver.series", ["series_id", "best_of", "maps_played", "series_start"],
                           _series),
    "gold.player_features": Suite(
        "gold_player_features", "gold.player_features",
        ["game_id", "player_key", "games_played", "kills_avg_5", "kills_avg_10", "days_since_last_game", "team_elo",
         "target_kills"], _player_features, _rows_per_game),
    "gold.team_features": Suite(
        "gold_team_features", "gold.team_features",
        ["game_id", "team_key", "win_avg_10", "elo", "target_result"], _team_features, _rows_per_game),
}
