"""What the gate judges: each model's backtest in the mode the service serves, kept per month so that a
champion and a candidate are compared on the same months of games.

Per month the summary holds sums (rows, log-loss, and per 10 probability bins the rows, mean P and
outcomes), so log-loss and ECE over any set of months are exact."""

from __future__ import annotations

import numpy as np
import polars as pl

from outscaled.features.schema import STATS
from outscaled.models.metrics import EPS

BINS = 10


def _month_sums(p: np.ndarray, y: np.ndarray) -> dict:
    clipped = np.clip(p, EPS, 1 - EPS)
    loss = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    which = np.clip(np.digitize(p, np.linspace(0, 1, BINS + 1)[1:-1]), 0, BINS - 1)
    return {"n": int(len(p)), "log_loss_sum": float(loss.sum()),
            "bin_n": np.bincount(which, minlength=BINS).tolist(),
            "bin_p": np.bincount(which, weights=p, minlength=BINS).tolist(),
            "bin_y": np.bincount(which, weights=y, minlength=BINS).tolist()}


def _per_month(frame: pl.DataFrame, p: str, y: str) -> dict[str, dict]:
    return {month: _month_sums(rows[p].to_numpy(), rows[y].to_numpy().astype(float))
            for (month,), rows in frame.group_by(["month"], maintain_order=True)}


def served_summary(ranges: pl.DataFrame, wins: pl.DataFrame) -> dict[str, dict]:
    """Per model: the served mode and its per-month sums. Stat models: every map range of a pre-draft request
    (`meta` when the bundle has layers, else `model`), with a named opponent and without; win: the model's
    map probability and Elo alone on the same games."""
    summary: dict[str, dict] = {}
    if not ranges.is_empty():
        mode = "meta" if "p_over_meta_named" in ranges.columns else "model"
        for stat in STATS:
            rows = ranges.filter(pl.col("stat") == stat)
            if rows.is_empty():
                continue
            stacked = pl.concat([rows.select("month", "outcome", pl.col(f"p_over_{mode}_{o}").alias("p"))
                                 for o in ("named", "average") if f"p_over_{mode}_{o}" in rows.columns])
            summary[stat] = {"mode": f"{mode} (pre-draft), map ranges, named and average opponents",
                             "months": _per_month(stacked, "p", "outcome")}
    if not wins.is_empty():
        summary["win"] = {"mode": "model (map probability)", "months": _per_month(wins, "p_win", "outcome"),
                          "elo_months": _per_month(wins, "elo_p_win", "outcome")}
    return summary


def window_scores(months: dict[str, dict], chosen: list[str]) -> dict[str, float]:
    """Log-loss and ECE over the chosen months."""
    picked = [months[m] for m in chosen if m in months]
    n = sum(m["n"] for m in picked)
    if not n:
        return {"n": 0}
    bin_n = np.sum([m["bin_n"] for m in picked], axis=0)
    bin_p = np.sum([m["bin_p"] for m in picked], axis=0)
    bin_y = np.sum([m["bin_y"] for m in picked], axis=0)
    filled = bin_n > 0
    ece = float(np.sum(np.abs(bin_p[filled] - bin_y[filled])) / n)
    return {"n": int(n), "log_loss": sum(m["log_loss_sum"] for m in picked) / n, "ece": ece}
