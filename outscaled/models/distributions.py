"""Count distributions for stat lines: negative binomial per map, exact sums over a map range.

A map's stat is NB(mean mu, size r): variance mu + mu^2 / r (r -> infinity is Poisson). The total over
maps a..b is the convolution of the maps' pmfs, computed exactly on a grid. Lines are half-points, so
p_over + p_under = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import stats
from scipy.special import gammaln

# Direct convolution (maps x support^2 work) beats the transforms' set-up for a few short distributions.
_DIRECT_MAX_DISTRIBUTIONS = 8
_DIRECT_MAX_SUPPORT = 256
# Batches whose largest support reaches _GROUP_FROM (CS totals, ~3,000 counts) are summed in groups of
# similar supports (the largest at most _GROUP_RATIO times the smallest); shorter ones (kills: ~60) in one.
_GROUP_FROM = 1024
_GROUP_RATIO = 1.5
_SEARCH_FROM = 1024  # grids this long find their 80% interval by binary search
# A group is summed in blocks of at most this many grid cells (distributions x maps x support, ~2 MB):
# arrays that stay in the processor's cache make a large batch 3-10 times faster per distribution.
_BLOCK_CELLS = 250_000


def nb_pmf(mean: float | np.ndarray, size: float, support: int) -> np.ndarray:
    """NB(mean, size) probabilities of 0..support-1 (Poisson when size is infinite), for one mean or, with
    an array of means, one row per mean (last axis = the count); plain numpy, so microseconds per call."""
    mean = np.maximum(np.asarray(mean, dtype=float), 1e-6)[..., None]
    k = np.arange(support, dtype=float)
    if not np.isfinite(size) or size > 1e6:
        per_count, constant, terms = np.log(mean), -mean, -gammaln(k + 1)
    else:
        per_count = np.log(mean / (size + mean))
        constant = size * np.log(size / (size + mean))
        terms = gammaln(k + size) - gammaln(size) - gammaln(k + 1)
    # log pmf = terms[k] + constant + k * per_count, written into one array (the batch's largest)
    log_pmf = np.multiply(k, per_count)
    log_pmf += constant
    log_pmf += terms
    return np.exp(log_pmf, out=log_pmf)


def supports_for(means: np.ndarray, size: float) -> np.ndarray:
    """Per distribution, counts 0..support-1 that hold all but a negligible tail of its total: 12 standard
    deviations past its mean. `means` is one distribution's per-map means, or (distributions x maps)."""
    means = np.atleast_2d(np.asarray(means, dtype=float))
    totals = means.sum(axis=1)
    variances = totals + (np.square(means).sum(axis=1) / size if np.isfinite(size) else 0.0)
    return (totals + 12 * np.sqrt(variances + 1) + 20).astype(int)


def support_for(means: np.ndarray, size: float) -> int:
    """One support wide enough for every distribution in `means` (see `supports_for`)."""
    return int(np.max(supports_for(means, size)))


@dataclass(frozen=True)
class StatLine:
    expected: float
    p_over: float
    p_under: float
    interval_80: tuple[int, int]
    pmf: np.ndarray

    def p_over_line(self, line: float) -> float:
        return float(self.pmf[int(np.floor(line)) + 1:].sum())


def map_range_distribution(means: list[float], size: float, line: float) -> StatLine:
    """Distribution of the total over the given maps (one mean per map), at a half-point line."""
    if not means:
        raise ValueError("at least one map is needed")
    if line < 0 or (line * 2) % 2 != 1:
        raise ValueError(f"line must be a non-negative half-point such as 4.5, got {line}")
    support = support_for(means, size)
    total = np.array([1.0])
    for mean in means:
        total = np.convolve(total, nb_pmf(float(mean), size, support))[:support]
    total = total / total.sum()
    cdf = np.cumsum(total)
    p_under = float(cdf[int(np.floor(line))]) if int(np.floor(line)) < support else 1.0
    low = int(np.searchsorted(cdf, 0.10))
    high = int(np.searchsorted(cdf, 0.90))
    expected = float((np.arange(total.size) * total).sum())
    return StatLine(expected=expected, p_over=1.0 - p_under, p_under=p_under, interval_80=(low, high), pmf=total)


@dataclass(frozen=True)
class LineSummary:
    """Per distribution (row of means) of a batch: the map-range total's mean and 80% interval; per line
    asked of it: P(total over the line)."""
    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_over: np.ndarray


def map_range_summaries(means: np.ndarray, size: float, lines: np.ndarray,
                        distribution: np.ndarray | None = None) -> LineSummary:
    """`map_range_distribution` for many distributions at once: `means` is (distributions x maps), one NB
    size; `lines[k]` is asked of distribution `distribution[k]` (default: line k of distribution k), so a
    slate that asks five lines of one player's total computes that total once.

    Distributions with similar supports are summed together (a support player's CS total needs a tenth of
    the grid of a carry's), each group on a grid wide enough for its largest (tail mass below 1e-9)."""
    means = np.atleast_2d(np.asarray(means, dtype=float))
    lines = np.asarray(lines, dtype=float)
    distribution = np.arange(len(lines)) if distribution is None else np.asarray(distribution)
    below = np.floor(lines).astype(int)
    expected = np.empty(len(means))
    low = np.empty(len(means), dtype=int)
    high = np.empty(len(means), dtype=int)
    p_under = np.ones(len(lines))
    position = np.empty(len(means), dtype=int)  # a distribution's row in its group
    groups = _in_blocks(_similar_supports(supports_for(means, size)), means, size)
    group_of = np.empty(len(means), dtype=int)
    for g, rows in enumerate(groups):
        group_of[rows] = g
    by_group = np.argsort(group_of[distribution], kind="stable")  # the lines, grouped by their distribution's group
    bounds = np.searchsorted(group_of[distribution][by_group], np.arange(len(groups) + 1))
    for g, rows in enumerate(groups):
        asked = by_group[bounds[g]:bounds[g + 1]]  # the lines asked of this group's distributions
        total = _total_pmfs(means[rows], size, support_for(means[rows], size))
        cdf = np.cumsum(total, axis=1)
        expected[rows] = total @ np.arange(total.shape[1], dtype=float)
        if cdf.shape[1] < _SEARCH_FROM:
            low[rows], high[rows] = np.argmax(cdf >= 0.10, axis=1), np.argmax(cdf >= 0.90, axis=1)
        else:  # long grids: one binary search a quantile instead of two passes over the grid
            for k, row in enumerate(cdf):
                low[rows[k]], high[rows[k]] = np.searchsorted(row, (0.10, 0.90))
        position[rows] = np.arange(len(rows))
        inside = below[asked] < total.shape[1]
        p_under[asked[inside]] = cdf[position[distribution[asked[inside]]], below[asked[inside]]]
    return LineSummary(expected=expected, low=low, high=high, p_over=1.0 - p_under)


def _similar_supports(supports: np.ndarray) -> list[np.ndarray]:
    """Distributions grouped so that a group's largest support is at most _GROUP_RATIO times its smallest
    (each group costs a few transform calls, so small batches and short supports stay one group)."""
    if len(supports) <= _DIRECT_MAX_DISTRIBUTIONS or supports.max() < _GROUP_FROM:
        return [np.arange(len(supports))]
    order = np.argsort(supports, kind="stable")
    ordered = supports[order]
    groups, first = [], 0
    while first < len(order):  # a group ends before the first support above _GROUP_RATIO times its smallest
        end = int(np.searchsorted(ordered, _GROUP_RATIO * ordered[first], side="right"))
        groups.append(order[first:end])
        first = end
    return groups


def _in_blocks(groups: list[np.ndarray], means: np.ndarray, size: float) -> list[np.ndarray]:
    """Each group split into consecutive blocks of at most _BLOCK_CELLS grid cells (at least one row each)."""
    blocks = []
    for rows in groups:
        per_row = means.shape[1] * support_for(means[rows], size)
        step = max(1, _BLOCK_CELLS // per_row)
        blocks += [rows[i:i + step] for i in range(0, len(rows), step)]
    return blocks


def _total_pmfs(means: np.ndarray, size: float, support: int) -> np.ndarray:
    """(distributions x counts) pmfs of each row's total over its maps, normalised; the grid is `support`
    long or, for the transforms, the next length they handle fast."""
    direct = len(means) <= _DIRECT_MAX_DISTRIBUTIONS and support <= _DIRECT_MAX_SUPPORT
    if means.shape[1] > 1 and not direct:
        support = scipy.fft.next_fast_len(support, real=True)  # the transforms' length: no padding copy
    pmfs = nb_pmf(means, size, support)  # distributions x maps x support
    if means.shape[1] == 1:
        total = pmfs[:, 0, :]
    elif direct:
        total = np.empty((len(means), support))
        for i, maps in enumerate(pmfs):
            row = maps[0]
            for pmf in maps[1:]:
                row = np.convolve(row, pmf)[:support]
            total[i] = row
    else:
        # A transform as long as the support: the circular wrap-around only folds in the sum's mass beyond
        # the support, which the support (12 standard deviations past the mean) makes negligible.
        spectra = scipy.fft.rfft(pmfs, axis=2, workers=-1)
        total = scipy.fft.irfft(np.prod(spectra, axis=1), n=support, axis=1, workers=-1)
        np.clip(total, 0.0, None, out=total)
    return total / total.sum(axis=1, keepdims=True)


def fit_nb_size(y: np.ndarray, mu: np.ndarray) -> float:
    """Maximum-likelihood NB size for observed counts `y` given predicted means `mu` (grid search)."""
    y = np.asarray(y, dtype=float)
    mu = np.clip(np.asarray(mu, dtype=float), 1e-6, None)
    best, best_ll = np.inf, np.sum(stats.poisson.logpmf(y, mu))
    log_y_factorial = gammaln(y + 1)
    for size in np.logspace(-0.5, 3.5, 60):
        # NB log pmf (scipy's nbinom.logpmf with p = size / (size + mu)), written out: the same sum, without
        # scipy's per-call argument checks (the grid search calls it 60 times on every training row)
        log_total = np.log(size + mu)
        ll = np.sum(gammaln(y + size) - gammaln(size) - log_y_factorial
                    + size * (np.log(size) - log_total) + y * (np.log(mu) - log_total))
        if ll > best_ll:
            best, best_ll = float(size), ll
    return best


def series_win_probability(p_map: float, best_of: int) -> float:
    """P(win a best-of-n series) when each map is won independently with p_map."""
    need = best_of // 2 + 1
    return float(sum(_binomial(need - 1, need - 1 + losses, p_map) * p_map for losses in range(need)))


def probability_maps_played(p_map: float, best_of: int, last_map: int) -> float:
    """P(the series reaches map `last_map`): no team has won best_of//2 + 1 maps after last_map - 1 maps."""
    need = best_of // 2 + 1
    played = last_map - 1
    if last_map <= need:
        return 1.0
    if last_map > best_of:
        return 0.0
    # both teams below `need` wins after `played` maps
    return float(sum(_binomial(wins, played, p_map) for wins in range(played - need + 1, need)))


def _binomial(successes: int, trials: int, p: float) -> float:
    return math.comb(trials, successes) * p ** successes * (1 - p) ** (trials - successes)
