"""The canonical bronze column vocabulary: names and types of the game and draft tables.

The table schemas (`outscaled.lakehouse.tables`) are built from these; ingestion maps every source
header onto them (`outscaled.ingest.columns`). They sit in the lakehouse layer, below ingestion.
"""

from __future__ import annotations

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

DRAFT_COLUMNS: list[str] = [
    "game_id", "league", "year", "date", "patch",
    *[f"{side}_pick_{role}" for side in ("blue", "red") for role in ("top", "jng", "mid", "bot", "sup")],
    *[f"{side}_ban_{i}" for side in ("blue", "red") for i in range(1, 6)],
]
