"""Reference lines and the baselines' inputs, from each player's games before the series began.

The backtest line for a row is the player's rolling-median line: floor(median of the player's last 10
games before the series) + 0.5. With no history it falls back to the league/position baseline.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque

import numpy as np
import polars as pl

from outscaled.features.schema import STATS

HISTORY = 10


def with_reference_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """Add line_<stat>, median_<stat> (a range of k maps is priced at floor(k x median) + 0.5),
    mvp_mean_<stat>, mvp_std_<stat> and history_<stat> (games used) per row."""
    ordered = frame.with_row_index("_row").sort(["player_key", "series_start", "game_start", "game_id"])
    columns: dict[str, list] = {f"{kind}_{stat}": [] for stat in STATS
                                for kind in ("line", "median", "mvp_mean", "mvp_std", "history")}
    history: dict[tuple[str, str], deque] = defaultdict(lambda: deque(maxlen=HISTORY))
    pending: list[tuple[str, float | None, float | None, float | None, float | None]] = []
    current_key, current_series = None, None
    rows = ordered.select("player_key", "series_id", *[f"target_{s}" for s in STATS],
                          *[f"position_baseline_{s}" for s in STATS]).iter_rows()
    for player, series, *values in rows:
        targets, baselines = values[:len(STATS)], values[len(STATS):]
        if (player, series) != (current_key, current_series):
            for p, *vals in pending:  # the previous series is over: its games become history
                for stat, value in zip(STATS, vals):
                    if value is not None:
                        history[(p, stat)].append(value)
            pending, current_key, current_series = [], player, series
        for stat, baseline in zip(STATS, baselines):
            past = history[(player, stat)]
            if past:
                median, mean, std = float(np.median(past)), float(np.mean(past)), float(np.std(past))
            else:
                base = float(baseline) if baseline is not None else math.nan
                median, mean, std = base, base, math.sqrt(base) if base == base else math.nan
            columns[f"line_{stat}"].append(math.floor(median) + 0.5 if median == median else math.nan)
            columns[f"median_{stat}"].append(median)
            columns[f"mvp_mean_{stat}"].append(mean)
            columns[f"mvp_std_{stat}"].append(std)
            columns[f"history_{stat}"].append(len(past))
        pending.append((player, *targets))
    added = pl.DataFrame(columns).with_columns(ordered["_row"])
    return frame.with_row_index("_row").join(added, on="_row").sort("_row").drop("_row")
