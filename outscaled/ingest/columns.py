"""The canonical bronze columns and how every known source header maps onto them.

Source headers are matched after "squashing" (lower case, letters and digits only, a trailing
"mins" dropped), so `gameid`, `game_id`, `team kpm`, `team_kpm` and `gold_at_10_mins` all find
their canonical column. Columns a source lacks are null; source columns not listed here are not
loaded into bronze (the raw file is kept unchanged in the landing area).
"""

from __future__ import annotations

import re

import polars as pl

STRING = pl.String
INT = pl.Int64
FLOAT = pl.Float64
TIMESTAMP = pl.Datetime("us")

_STRING_COLUMNS = [
    "game_id", "data_completeness", "url", "league", "split", "side", "position", "player_name",
    "player_id", "team_name", "team_id", "champion", "ban_1", "ban_2", "ban_3", "ban_4", "ban_5",
    "pick_1", "pick_2", "pick_3", "pick_4", "pick_5", "patch",
]
_FLOAT_COLUMNS = [
    "team_kpm", "c_kpm", "dpm", "damage_share", "damage_taken_per_minute", "damage_mitigated_per_minute",
    "wpm", "wcpm", "vspm", "earned_gpm", "earned_gold_share", "gspd", "gpr", "cspm",
]
_TIMED = ["gold", "xp", "cs", "opp_gold", "opp_xp", "opp_cs", "gold_diff", "xp_diff", "cs_diff",
          "kills", "assists", "deaths", "opp_kills", "opp_assists", "opp_deaths"]

# Order follows the 161-column Oracle's Elixir layout, plus columns seen in newer files.
CANONICAL_ORDER: list[str] = [
    "game_id", "data_completeness", "url", "league", "year", "split", "playoffs", "date", "game", "patch",
    "participant_id", "side", "position", "player_name", "player_id", "team_name", "team_id", "champion",
    "ban_1", "ban_2", "ban_3", "ban_4", "ban_5", "pick_1", "pick_2", "pick_3", "pick_4", "pick_5",
    "game_length", "result", "kills", "deaths", "assists", "team_kills", "team_deaths",
    "double_kills", "triple_kills", "quadra_kills", "penta_kills",
    "first_blood", "first_blood_kill", "first_blood_assist", "first_blood_victim", "team_kpm", "c_kpm",
    "first_dragon", "dragons", "opp_dragons", "elemental_drakes", "opp_elemental_drakes",
    "infernals", "mountains", "clouds", "oceans", "chemtechs", "hextechs", "dragons_type_unknown",
    "elders", "opp_elders", "first_herald", "heralds", "opp_heralds", "void_grubs", "opp_void_grubs",
    "atakhans", "opp_atakhans", "first_baron", "barons", "opp_barons",
    "first_tower", "towers", "opp_towers", "first_mid_tower", "first_to_three_towers",
    "turret_plates", "opp_turret_plates", "inhibitors", "opp_inhibitors",
    "damage_to_champions", "dpm", "damage_share", "damage_taken_per_minute", "damage_mitigated_per_minute",
    "damage_to_towers", "wards_placed", "wpm", "wards_killed", "wcpm", "control_wards_bought",
    "vision_score", "vspm", "total_gold", "earned_gold", "earned_gpm", "earned_gold_share", "gold_spent",
    "gspd", "gpr", "total_cs", "minion_kills", "monster_kills", "monster_kills_own_jungle",
    "monster_kills_enemy_jungle", "cspm",
    *[f"{stat}_at_{minute}" for minute in (10, 15, 20, 25) for stat in _TIMED],
]

CANONICAL_TYPES: dict[str, pl.DataType] = {
    name: (STRING if name in _STRING_COLUMNS else FLOAT if name in _FLOAT_COLUMNS
           else TIMESTAMP if name == "date" else INT)
    for name in CANONICAL_ORDER
}

# Counts that can never be negative (differences such as gold_diff_at_10 can).
NON_NEGATIVE_COLUMNS: list[str] = [
    name for name, dtype in CANONICAL_TYPES.items()
    if dtype == INT and "diff" not in name and name not in {"year", "participant_id"}
]

PLAYER_POSITIONS = ("top", "jng", "mid", "bot", "sup")
TEAM_POSITION = "team"
SIDES = ("Blue", "Red")


def squash(header: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", header.lower())
    return key[:-4] if key.endswith("mins") and key[:-4][-1:].isdigit() else key


# Names used by sources that do not squash to the canonical name.
_ALIASES: dict[str, str] = {
    "winner": "result",
    "dragonstypeunknown": "dragons_type_unknown",
    "dragonsunknown": "dragons_type_unknown",
}
# The pre-2021 layout names people "player"/"team" and stores the participant id as "playerid".
OLD_LAYOUT_ALIASES: dict[str, str] = {"player": "player_name", "team": "team_name", "playerid": "participant_id"}

_BY_SQUASHED: dict[str, str] = {squash(name): name for name in CANONICAL_ORDER}
_BY_SQUASHED.update(_ALIASES)


def is_old_layout(headers: list[str]) -> bool:
    squashed = {squash(h) for h in headers}
    return "player" in squashed and "team" in squashed and "playername" not in squashed


def canonical_name(header: str, old_layout: bool = False) -> str | None:
    """The canonical column for a source header, or None when bronze does not keep it."""
    key = squash(header)
    if old_layout and key in OLD_LAYOUT_ALIASES:
        return OLD_LAYOUT_ALIASES[key]
    return _BY_SQUASHED.get(key)
