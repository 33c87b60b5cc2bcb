"""The words of an answer: top feature contributions, the adjustment layers' effects, caveats."""

from __future__ import annotations

import functools

import numpy as np

from outscaled.features.schema import PLAYER_FEATURES
from outscaled.models.estimators import StatModel
from outscaled.online.memo import Memo

SHORT_HISTORY = 10
# how a feature is named: "is_" flags as (what is played, True), the rest in words
_FEATURE_SUBJECTS = [(name[3:], True) if name.startswith("is_") else (name.replace("_", " "), False)
                     for name in PLAYER_FEATURES]


def top_contributions(contributions: np.ndarray, values: np.ndarray, stat: str) -> list[list[str]]:
    """Per row: its three largest contributions (by size; the last column, the bias, left out) in words."""
    top = np.argsort(-np.abs(contributions[:, :-1]), axis=1, kind="stable")[:, :3]
    effects = np.take_along_axis(contributions, top, axis=1)
    shown = np.take_along_axis(values, top, axis=1)
    percents = np.abs(np.expm1(effects)) * 100
    effect_words = (" lowers expected " + stat + " by ", " raises expected " + stat + " by ")
    texts = []
    for indices, row_values, row_effects, row_percents in zip(top.tolist(), shown.tolist(), effects.tolist(),
                                                              percents.tolist()):
        lines = []
        for index, value, effect, percent in zip(indices, row_values, row_effects, row_percents):
            name, is_flag = _FEATURE_SUBJECTS[index]
            if is_flag:
                subject = ("playing " if value == 1 else "not playing ") + name
            else:
                subject = name + (" = unknown" if value != value else f" = {value:.2f}")
            lines.append(f"{subject}{effect_words[effect > 0]}{percent:.0f}%")
        texts.append(lines)
    return texts


class Explanations:
    """The top contributions in words of model rows, once per distinct row (and once per row and model
    version while the row stays in the memo)."""

    def __init__(self, capacity: int):
        self.memo = Memo(capacity)  # (version, stat, row) -> its top contributions in words

    def explain(self, model: StatModel, stat: str, version: str, rows: np.ndarray, first_row: np.ndarray,
                mine: np.ndarray, out: list[list[str]]) -> None:
        """The words of the first map's row of each distribution in `mine` (`first_row[j]`), to `out[j]`."""
        texts: dict[bytes, list[str]] = {}
        missing: list[bytes] = []
        for j in mine:
            row_bytes = rows[first_row[j]].tobytes()
            if row_bytes not in texts:
                known = self.memo.get((version, stat, row_bytes))
                texts[row_bytes] = known
                if known is None:
                    missing.append(row_bytes)
        if missing:
            unique_rows = np.frombuffer(b"".join(missing)).reshape(len(missing), rows.shape[1])
            for row_bytes, words in zip(missing, top_contributions(model.contributions(unique_rows), unique_rows,
                                                                   stat)):
                texts[row_bytes] = words
                self.memo.put((version, stat, row_bytes), words)
        for j in mine:
            out[j] = list(texts[rows[first_row[j]].tobytes()])


@functools.lru_cache(maxsize=8192)  # before the draft, every player of a position gets the same patch text
def adjustment_text(subject: str, stat: str, value: float, games: int, min_games: int, prior: float) -> str:
    if not np.isfinite(prior):
        return f"{subject}: no adjustment (this layer did not help {stat} out of fold, so it is off)"
    if games < min_games:
        return f"{subject}: too few games for an adjustment ({games} of evidence, {min_games} needed)"
    return f"{subject}: {(value - 1) * 100:+.0f}% expected {stat} ({games} games of evidence)"


def caveats(games: int, opponent: str | None, average_opponent: str | None) -> list[str]:
    lines = []
    if games < SHORT_HISTORY:
        lines.append(f"short history: {games} game(s) on record, so the league/position baseline weighs heavily")
    if opponent is None:
        lines.append(f"no opponent given: priced against {average_opponent}" if average_opponent else
                     "no opponent given, and no team of the league to average: opponent strength is unknown")
    return lines


def tournament_note(tournament: str) -> str:
    return f"tournament '{tournament}' is not a model input: give `league` and `playoffs` instead"
