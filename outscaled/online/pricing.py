"""The maths of an answer: per-map means from a model version (memoised by row), the total over a map range
and its calibrated P(over) as the backtest scored it, and the P(over) curve of one total.

No Redis and no request parsing here: the predictor (outscaled.online.predictor) hands over model rows,
layer factors and lines; the sums of many distributions run in one background thread when there are enough
of them to be worth it (numpy releases the GIL, so they run beside the explanations).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from outscaled.models.backtest import Bundle
from outscaled.models.distributions import map_range_distribution, map_range_summaries
from outscaled.online.memo import Memo
from outscaled.online.requests import SingleRequest

_SUMMING_POOL = ThreadPoolExecutor(1, thread_name_prefix="map-range-sums")
BACKGROUND_FROM = 64  # distributions: below, handing the sums to a thread costs more than it saves
MEMO_ROWS_UP_TO = 32  # a request's rows of one stat up to this many: their means are memoised as one block
MEMO_CAPACITY = 20_000  # entries per memo (means blocks; explanations): a few MB
CURVE_POINTS = 60  # at most this many lines on a P(over) curve


class ModelMeans:
    """The models' per-map means of model rows, memoised for a few rows at a time (a row decides its mean
    under one model version, and the key holds the version)."""

    def __init__(self, capacity: int = MEMO_CAPACITY):
        self.memo = Memo(capacity)

    def __call__(self, bundle: Bundle, stat: str, version: str, rows: np.ndarray) -> np.ndarray:
        model = bundle.stats[stat]
        if len(rows) > MEMO_ROWS_UP_TO:
            return model.predict_mean(rows)
        memo_key = (version, stat, rows.tobytes())
        means = self.memo.get(memo_key)
        if means is None:
            means = model.predict_mean(rows)
            self.memo.put(memo_key, means)
        return means


@dataclass
class Pricing:
    """One (stat, model version)'s share of a batch: what `summarise` reads and where it writes.

    `distributions[d]` is the request that defines distribution d; `means` every map's mean of every
    distribution (distribution d's maps start at `first_row[d]`); `modes[d]` its calibration mode for the
    distributions of this stat and version; `lines[k]` the line of request k and `asked[k]` its distribution.
    Writes (expected, low, high) of each distribution to `summaries` and request k's P(over) to `p_over[k]`."""
    stat: str
    bundle: Bundle
    distributions: list[SingleRequest]
    means: np.ndarray
    first_row: np.ndarray
    modes: dict[int, str]
    lines: np.ndarray
    asked: np.ndarray
    summaries: dict[int, tuple[float, int, int]]
    p_over: np.ndarray


def summarise(work: Pricing) -> None:
    """Per distribution of the stat: expected total and 80% interval; per request asking one of them: the
    calibrated P(over its line). Grouped by map count, mode and opponent (named or the league's average):
    the calibration the backtest fitted and scored for exactly that kind of request (outscaled.models.ranges)."""
    model = work.bundle.stats[work.stat]
    groups: dict[tuple[int, str, str], list[int]] = {}
    for d, mode in work.modes.items():
        request = work.distributions[d]
        maps = request.map_end - request.map_start + 1
        groups.setdefault((maps, mode, "named" if request.opponent else "average"), []).append(d)
    for (count, mode, opponent), group in groups.items():
        position = np.full(len(work.distributions), -1)
        position[group] = np.arange(len(group))
        requests = np.flatnonzero(position[work.asked] >= 0)
        group_means = work.means[work.first_row[group][:, None] + np.arange(count)]  # each one's maps, in order
        summary = map_range_summaries(group_means, model.nb_size, work.lines[requests], position[work.asked[requests]])
        work.p_over[requests] = work.bundle.calibrate(work.stat, mode, count, summary.p_over, opponent)
        for k, d in enumerate(group):
            work.summaries[d] = (float(summary.expected[k]), int(summary.low[k]), int(summary.high[k]))


def summarise_soon(work: Pricing) -> Future | None:
    """`summarise(work)` now, or in the background thread for a batch of BACKGROUND_FROM distributions or
    more (the returned future: wait for it before reading the results). Each reads only its stat's rows."""
    if len(work.distributions) >= BACKGROUND_FROM:
        return _SUMMING_POOL.submit(summarise, work)
    summarise(work)
    return None


def over_curve(bundle: Bundle, stat: str, mode: str, means: list[float], opponent: str) -> tuple[float, list[dict]]:
    """The expected total over the maps whose means are given, and the calibrated P(over) at half-point lines
    from 0.5 to well past its 80% interval (at most CURVE_POINTS), kept monotone after calibration."""
    model = bundle.stats[stat]
    base = map_range_distribution(means, model.nb_size, 0.5)
    top = max(int(base.interval_80[1] * 1.6) + 2, 6)
    step = max(1, top // CURVE_POINTS)
    lines = [k + 0.5 for k in range(0, top, step)]
    raw = np.array([base.p_over_line(x) for x in lines])
    calibrated = np.minimum.accumulate(bundle.calibrate(stat, mode, len(means), raw, opponent))
    return base.expected, [{"line": x, "p_over": round(float(p), 4)} for x, p in zip(lines, calibrated)]
