"""How every known source header maps onto the canonical bronze columns (`outscaled.lakehouse.columns`).

Source headers are matched after "squashing" (lower case, letters and digits only, a trailing
"mins" dropped), so `gameid`, `game_id`, `team kpm`, `team_kpm` and `gold_at_10_mins` all find
their canonical column. Columns a source lacks are null; source columns not listed here are not
loaded into bronze (the raw file is kept unchanged in the landing area).
"""

from __future__ import annotations

import re

from outscaled.lakehouse.columns import CANONICAL_ORDER, CANONICAL_TYPES, INT

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
