"""Map ranges, the product: totals over maps a..b scored and calibrated as the service serves them.

From the backtest's out-of-fold rows (one per player, game and stat), every range a player played in a
series — each single map, maps 1-2, 1-3 and 2-3 — becomes one row: the per-map means of every served mode,
the total, and the player's rolling-median line scaled to the range (floor(k x median of the last 10 games)
+ 0.5). P(over) is the NB convolution the service computes (`map_range_summaries`, tested against scipy),
then an isotonic calibration per (stat, maps in the range, mode, opponent) fitted on earlier months only in
the walk-forward, and on every out-of-fold range for the served bundle. A request names its opponent or
is priced against the league's average one ("named" / "average"): both are scored and calibrated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl
from scipy import stats as st
from sklearn.isotonic import IsotonicRegression

from outscaled.models.distributions import map_range_summaries
from outscaled.models.estimators import apply_calibrator, calibrator_from_json, calibrator_to_json, fit_calibrator
from outscaled.models.metrics import expected_calibration_error, probability_metrics

RANGES = ((1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (1, 2), (1, 3), (2, 3))
SERVED_MODES = ("model", "meta", "post_draft")
OPPONENTS = ("named", "average")
MAX_CALIBRATED_MAPS = 3  # ranges of 4 and 5 maps are rare: they use the 3-map calibration


def label(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _mean_column(mode: str, opponent: str) -> str:
    base = "expected" if mode == "model" else f"expected_{mode}"
    return base if opponent == "named" else f"{base}_average"


def range_rows(oof: pl.DataFrame) -> pl.DataFrame:
    """One row per (stat, player, series, range) from per-map out-of-fold rows; `means_<mode>_<opponent>` hold
    the range's per-map means in map order."""
    modes = [(m, o) for m in SERVED_MODES for o in OPPONENTS if _mean_column(m, o) in oof.columns]
    parts = []
    for first, last in RANGES:
        inside = oof.filter(pl.col("map_number").is_between(first, last))
        grouped = (inside.sort("map_number")
                   .group_by(["stat", "player_key", "series_id"], maintain_order=True)
                   .agg(pl.len().alias("maps"), pl.col("target").sum(), pl.col("series_start").first(),
                        pl.col("game_start").first(), pl.col("month").first(), pl.col("nb_size").first(),
                        pl.col("median").first(), pl.col("rolling_poisson_expected").sum().alias("poisson_mean"),
                        pl.col("map_number").min().alias("first_map"),
                        *[pl.col(_mean_column(m, o)).alias(f"means_{m}_{o}") for m, o in modes])
                   .filter((pl.col("maps") == last - first + 1) & (pl.col("first_map") == first)))
        parts.append(grouped.with_columns(pl.lit(label(first, last)).alias("range")).drop("first_map"))
    rows = pl.concat(parts)
    line = (np.floor(rows["maps"].to_numpy() * rows["median"].to_numpy()) + 0.5)
    return rows.with_columns(pl.Series("line", line)).filter(pl.col("line").is_not_nan()).with_columns(
        (pl.col("target") > pl.col("line")).cast(pl.Float64).alias("outcome"))


def raw_p_over(rows: pl.DataFrame, column: str) -> np.ndarray:
    """Uncalibrated P(total over the line) with the served NB convolution, per (month's NB size, maps)."""
    out = np.empty(rows.height)
    size, maps = rows["nb_size"].to_numpy(), rows["maps"].to_numpy()
    lines = rows["line"].to_numpy()
    for k in np.unique(maps):
        of_k = np.flatnonzero(maps == k)
        means = rows[column].gather(of_k).list.to_array(int(k)).to_numpy().astype(float).reshape(len(of_k), int(k))
        for value in np.unique(size[of_k]):
            mine = np.flatnonzero(size[of_k] == value)
            out[of_k[mine]] = map_range_summaries(means[mine], float(value), lines[of_k[mine]]).p_over
    return out


def calibration_maps(maps: int) -> int:
    return min(maps, MAX_CALIBRATED_MAPS)


@dataclass
class RangeCalibration:
    """The served calibrators, per (stat, maps, mode, opponent) with maps capped at MAX_CALIBRATED_MAPS."""
    calibrators: dict[tuple[str, int, str, str], IsotonicRegression | None] = field(default_factory=dict)

    def calibrate(self, stat: str, maps: int, mode: str, opponent: str, p_over: np.ndarray) -> np.ndarray:
        return apply_calibrator(self.calibrators.get((stat, calibration_maps(maps), mode, opponent)), p_over)

    def to_json(self) -> list:
        return [[list(k), calibrator_to_json(c)] for k, c in self.calibrators.items()]

    @classmethod
    def from_json(cls, items: list) -> "RangeCalibration":
        return cls({(s, int(m), mode, o): calibrator_from_json(c) for (s, m, mode, o), c in items})


def calibrate_cells(rows: pl.DataFrame, raw: np.ndarray, calibrate: Callable[[str, int, np.ndarray], np.ndarray],
                    within: np.ndarray | None = None) -> np.ndarray:
    """`raw` calibrated per (stat, maps) cell by `calibrate(stat, maps, p)`, only the rows in `within` if given."""
    out = raw.copy()
    stat, maps = rows["stat"].to_numpy(), rows["maps"].to_numpy()
    chosen = np.ones(len(raw), dtype=bool) if within is None else within
    for s in np.unique(stat[chosen]):
        for k in np.unique(maps[chosen]):
            cell = chosen & (stat == s) & (maps == k)
            out[cell] = calibrate(str(s), int(k), raw[cell])
    return out


def with_poisson_baseline(rows: pl.DataFrame) -> pl.DataFrame:
    """The rolling-Poisson baseline's P(over) at each range's line (Poisson of the summed rolling means)."""
    poisson = 1 - st.poisson.cdf(np.floor(rows["line"].to_numpy()), np.clip(rows["poisson_mean"].to_numpy(), 1e-6, None))
    return rows.with_columns(pl.Series("p_over_rolling_poisson", poisson))


def fit_range_calibration(rows: pl.DataFrame, raw: dict[tuple[str, str], np.ndarray]) -> RangeCalibration:
    """Calibrators on every given range row (`raw[(mode, opponent)]`: their uncalibrated P(over))."""
    stat, maps, outcome = rows["stat"].to_numpy(), rows["maps"].to_numpy(), rows["outcome"].to_numpy()
    capped = np.minimum(maps, MAX_CALIBRATED_MAPS)
    fitted = {}
    for (mode, opponent), p in raw.items():
        for s in np.unique(stat):
            for k in range(1, MAX_CALIBRATED_MAPS + 1):
                mine = (stat == s) & (capped == k)
                fitted[(str(s), k, mode, opponent)] = fit_calibrator(p[mine], outcome[mine])
    return RangeCalibration(fitted)


# Calibration windows tried (months of settled ranges before the month calibrated; None = all of them).
# One is chosen on months before the evaluated season only (`choose_window`), so a new season is
# calibrated on recent games without tuning to it.
WINDOWS = (None, 12, 6, 3)


def _months_before(month: str, window: int | None) -> str | None:
    if window is None:
        return None
    year, number = int(month[:4]), int(month[5:7]) - window
    while number < 1:
        year, number = year - 1, number + 12
    return f"{year:04d}-{number:02d}"


def _walk_forward(rows: pl.DataFrame, raw: dict[str, np.ndarray], window: int | None) -> dict[str, np.ndarray]:
    """Per key (mode_opponent): each month's rows calibrated on the ranges of the `window` months before it."""
    month = rows["month"].to_numpy()
    out = {key: p.copy() for key, p in raw.items()}
    for m in np.unique(month):
        start = _months_before(m, window)
        earlier = (month < m) & ((month >= start) if start else True)
        if not earlier.any():
            continue
        fitted = fit_range_calibration(rows.filter(pl.Series(earlier)),
                                       {tuple(key.rsplit("_", 1)): p[earlier] for key, p in raw.items()})
        for key, p in raw.items():
            mode, opponent = key.rsplit("_", 1)
            calibrated = calibrate_cells(rows, p, lambda s, k, q: fitted.calibrate(s, k, mode, opponent, q),
                                         within=month == m)
            out[key][month == m] = calibrated[month == m]
    return out


def choose_window(rows: pl.DataFrame, raw: dict[str, np.ndarray], before: str) -> int | None:
    """The calibration window with the lowest log-loss over the served modes on months before `before`."""
    early = rows["month"].to_numpy() < before
    if not early.any():
        return None
    subset = rows.filter(pl.Series(early))
    y = subset["outcome"].to_numpy()
    losses = {}
    for window in WINDOWS:
        calibrated = _walk_forward(subset, {k: p[early] for k, p in raw.items()}, window)
        losses[window] = float(np.mean([probability_metrics(p, y)["log_loss"] for p in calibrated.values()]))
    return min(WINDOWS, key=lambda w: (losses[w], WINDOWS.index(w)))


def scored_ranges(oof: pl.DataFrame, window: int | None | str = "choose") -> tuple[pl.DataFrame, int | None]:
    """Range rows with raw and walk-forward-calibrated P(over) per served mode and opponent: month m's rows
    calibrated on the ranges of earlier months only (the `window` months before m; "choose": the window
    chosen on the months before the last season). Adds `p_over_<mode>_<opponent>` and the rolling-Poisson
    baseline at the same line. Returns the rows and the window used."""
    rows = range_rows(oof)
    raw = {c.removeprefix("means_"): raw_p_over(rows, c) for c in rows.columns if c.startswith("means_")}
    if window == "choose":
        last_season = str(rows["month"].max())[:4]
        window = choose_window(rows, raw, f"{last_season}-01")
    calibrated = _walk_forward(rows, raw, window)
    columns = [pl.Series(f"p_over_raw_{k}", p) for k, p in raw.items()]
    columns += [pl.Series(f"p_over_{k}", p) for k, p in calibrated.items()]
    return with_poisson_baseline(rows.with_columns(*columns)), window


# Outcomes drawn from a forecaster's own probabilities to find the ECE it would show if it were perfectly
# calibrated (fixed seed: the same rows give the same floor).
FLOOR_DRAWS = 100


def ece_floor(p: np.ndarray, draws: int = FLOOR_DRAWS, games: np.ndarray | None = None,
              correlation: float = 0.0) -> tuple[float, float]:
    """Median and 95th percentile of the ECE (10 bins) that a perfectly calibrated forecaster with these
    probabilities shows on this many rows: below the median, a cell's ECE cannot tell calibration from noise.

    Outcomes are drawn independently, or, given each row's game (`games`) and the correlation of outcomes
    within a game (`within_game_correlation`), with that correlation: a shared normal per game and one per row
    (a Gaussian copula whose latent correlation is sin(pi/2 x the outcomes' correlation), exact at P = 0.5),
    each row still over its line with probability p. Rows that move together (CS: a long game lifts all ten
    players) are fewer independent draws, and the floor rises accordingly."""
    rng = np.random.default_rng(20251)
    together = games is not None and correlation > 0
    latent = float(np.sin(np.pi / 2 * min(correlation, 0.99))) if together else 0.0
    game_of = np.unique(games, return_inverse=True)[1] if together else np.zeros(p.size, dtype=int)
    threshold = st.norm.ppf(np.clip(p, 1e-12, 1 - 1e-12))

    def draw() -> np.ndarray:
        if not together:
            return rng.random(p.size) < p
        shared = rng.standard_normal(game_of.max() + 1)[game_of]
        return np.sqrt(latent) * shared + np.sqrt(1 - latent) * rng.standard_normal(p.size) < threshold

    drawn = [expected_calibration_error(p, draw().astype(float)) for _ in range(draws)]
    return float(np.median(drawn)), float(np.percentile(drawn, 95))


def within_game_correlation(p: np.ndarray, outcome: np.ndarray, games: np.ndarray) -> float:
    """The correlation of two rows' surprises (outcome - P(over)) when they come from the same game(s), over
    every pair of rows of a game; 0 when no game has two rows."""
    residual = outcome - p
    _, game_of = np.unique(games, return_inverse=True)
    sums = np.bincount(game_of, weights=residual)
    squares = np.bincount(game_of, weights=residual ** 2)
    sizes = np.bincount(game_of)
    pairs = float((sizes * (sizes - 1)).sum())
    variance = float((residual ** 2).mean())
    if pairs == 0 or variance == 0:
        return 0.0
    return float((sums ** 2 - squares).sum() / pairs / variance)


def range_metrics(scored: pl.DataFrame, since: datetime | None = None) -> pl.DataFrame:
    """Per stat x range x served mode x opponent: n, log-loss, ECE with its noise floor (`ece_floor`,
    `ece_floor_p95`: outscaled.models.ranges.ece_floor, outcomes drawn independently; `ece_floor_games`: drawn
    with the cell's `game_correlation`, the rows of a series' range being the same games), over rate, mean
    P(over), and the rolling-Poisson log-loss at the same lines (gain = 1 - model / Poisson)."""
    if since is not None:
        scored = scored.filter(pl.col("series_start") >= since)
    records = []
    keys = [c.removeprefix("p_over_") for c in scored.columns
            if c.startswith("p_over_") and not c.startswith("p_over_raw_") and c != "p_over_rolling_poisson"]
    for (stat, name), rows in scored.group_by(["stat", "range"], maintain_order=True):
        y = rows["outcome"].to_numpy()
        poisson = probability_metrics(rows["p_over_rolling_poisson"].to_numpy(), y)
        for key in keys:
            mode, opponent = key.rsplit("_", 1)
            p = rows[f"p_over_{key}"].to_numpy()
            metrics = probability_metrics(p, y)
            floor, floor_p95 = ece_floor(p)
            games = rows["series_id"].to_numpy()
            correlation = within_game_correlation(p, y, games)
            records.append({"stat": stat, "range": name, "mode": mode, "opponent": opponent, "n": rows.height,
                            "log_loss": metrics["log_loss"], "ece": metrics["ece"], "ece_floor": floor,
                            "ece_floor_p95": floor_p95, "game_correlation": correlation,
                            "ece_floor_games": ece_floor(p, games=games, correlation=correlation)[0]
                            if correlation > 0 else floor,  # no correlation: the same draws as `floor`
                            "over_rate": float(y.mean()),
                            "mean_p_over": float(p.mean()), "poisson_log_loss": poisson["log_loss"],
                            "gain_vs_poisson": 1 - metrics["log_loss"] / poisson["log_loss"]})
    return pl.DataFrame(records).sort(["stat", "range", "mode", "opponent"]) if records else pl.DataFrame()
