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


def support_for(means: np.ndarray, size: float) -> int:
    """Counts 0..support-1 hold all but a negligible tail of every total: 12 standard deviations past the
    largest mean. `means` is one distribution's per-map means, or (distributions x maps)."""
    means = np.atleast_2d(np.asarray(means, dtype=float))
    totals = means.sum(axis=1)
    variances = totals + (np.square(means).sum(axis=1) / size if np.isfinite(size) else 0.0)
    return int(np.max(totals + 12 * np.sqrt(variances + 1) + 20))


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

    The per-map pmfs are multiplied in Fourier space (the sum's pmf is their convolution), all
    distributions in one call, and cut at a support wide enough for the largest (tail mass below 1e-9)."""
    means = np.atleast_2d(np.asarray(means, dtype=float))
    lines = np.asarray(lines, dtype=float)
    distribution = np.arange(len(lines)) if distribution is None else np.asarray(distribution)
    support = support_for(means, size)
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
    total = total / total.sum(axis=1, keepdims=True)
    cdf = np.cumsum(total, axis=1)
    below = np.floor(lines).astype(int)
    p_under = np.where(below < support, cdf[distribution, np.minimum(below, support - 1)], 1.0)
    return LineSummary(expected=total @ np.arange(support, dtype=float), low=np.argmax(cdf >= 0.10, axis=1),
                       high=np.argmax(cdf >= 0.90, axis=1), p_over=1.0 - p_under)


def fit_nb_size(y: np.ndarray, mu: np.ndarray) -> float:
    """Maximum-likelihood NB size for observed counts `y` given predicted means `mu` (grid search)."""
    y = np.asarray(y, dtype=float)
    mu = np.clip(np.asarray(mu, dtype=float), 1e-6, None)
    best, best_ll = np.inf, np.sum(stats.poisson.logpmf(y, mu))
    for size in np.logspace(-0.5, 3.5, 60):
        ll = np.sum(stats.nbinom.logpmf(y, size, size / (size + mu)))
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
