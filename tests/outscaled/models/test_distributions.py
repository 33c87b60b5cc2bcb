import numpy as np
import pytest
from scipy import stats

from outscaled.models.distributions import (
    fit_nb_size, map_range_distribution, map_range_summaries, probability_maps_played, series_win_probability,
)


def test_map_range_sum_of_poissons_is_poisson_of_the_sum():
    line = map_range_distribution([2.5, 3.5], float("inf"), 5.5)
    assert line.expected == pytest.approx(6.0, abs=1e-6)
    assert line.p_under == pytest.approx(stats.poisson.cdf(5, 6.0), abs=1e-9)
    assert line.p_over + line.p_under == pytest.approx(1.0)


def test_map_range_sum_of_negative_binomials_matches_simulation():
    rng = np.random.default_rng(3)
    means, size = [3.0, 4.0, 2.0], 6.0
    draws = sum(rng.negative_binomial(size, size / (size + m), 200_000) for m in means)
    line = map_range_distribution(means, size, 9.5)
    assert line.p_over == pytest.approx((draws > 9.5).mean(), abs=0.005)
    low, high = line.interval_80
    assert ((draws >= low) & (draws <= high)).mean() >= 0.8


def test_p_over_curve_is_monotone_in_the_line():
    base = map_range_distribution([4.2, 4.0], 8.0, 0.5)
    curve = [base.p_over_line(k + 0.5) for k in range(0, 25)]
    assert all(a >= b for a, b in zip(curve, curve[1:]))
    assert curve[0] > 0.99 and curve[-1] < 0.01


@pytest.mark.parametrize("line", [4.0, -0.5, 3.25])
def test_lines_must_be_half_points(line):
    with pytest.raises(ValueError, match="half-point"):
        map_range_distribution([3.0], 5.0, line)


def test_series_maths():
    assert series_win_probability(0.6, 3) == pytest.approx(0.648)
    assert series_win_probability(0.5, 5) == pytest.approx(0.5)
    assert probability_maps_played(0.5, 3, 2) == 1.0
    assert probability_maps_played(0.5, 3, 3) == pytest.approx(0.5)
    assert probability_maps_played(0.5, 5, 5) == pytest.approx(0.375)
    assert probability_maps_played(0.5, 1, 2) == 0.0


def test_nb_size_recovers_the_dispersion():
    rng = np.random.default_rng(0)
    mu = rng.uniform(1, 6, 20_000)
    y = rng.negative_binomial(4.0, 4.0 / (4.0 + mu))
    assert fit_nb_size(y, mu) == pytest.approx(4.0, rel=0.2)
    assert fit_nb_size(rng.poisson(mu), mu) > 100  # Poisson data: no overdispersion found


# a few short distributions: direct convolution; many, or long ones (CS-sized): the Fourier path; many with
# supports far apart (means from 5% to 100% of the scale): several groups of similar supports
@pytest.mark.parametrize(("distributions", "scale"), [(3, 9.0), (40, 9.0), (3, 300.0), (40, 300.0)])
@pytest.mark.parametrize("maps", [1, 2, 3])
def test_batched_summaries_equal_one_distribution_at_a_time(distributions, scale, maps):
    rng = np.random.default_rng(maps * 100 + distributions)
    means = rng.uniform(0.05, 1.0, size=(distributions, maps)) * scale
    asked = rng.integers(0, distributions, size=3 * distributions)  # several lines of each distribution
    lines = np.floor(rng.uniform(0, 3, size=len(asked)) * scale) + 0.5
    summary = map_range_summaries(means, 6.0, lines, asked)
    for k, (row, line) in enumerate(zip(asked, lines)):
        one = map_range_distribution(list(means[row]), 6.0, float(line))
        assert summary.p_over[k] == pytest.approx(one.p_over, abs=1e-9)
        # each is cut at its own grid: the means differ by the cut-off tail (< 1e-9 of the mass) times its counts
        assert summary.expected[row] == pytest.approx(one.expected, rel=1e-8, abs=1e-7)
        assert (summary.low[row], summary.high[row]) == one.interval_80


@pytest.mark.parametrize("maps", [1, 3])
def test_a_batch_summed_in_several_blocks_equals_one_distribution_at_a_time(maps):
    # 300 CS-sized distributions with supports far apart: several groups, each summed in several blocks
    # (outscaled.models.distributions._BLOCK_CELLS); the lines are asked out of order, some twice
    rng = np.random.default_rng(7 + maps)
    means = rng.uniform(0.05, 1.0, size=(300, maps)) * 300.0
    asked = rng.permutation(np.concatenate([np.arange(300), rng.integers(0, 300, size=50)]))
    lines = np.floor(means[asked].sum(axis=1) * rng.uniform(0.7, 1.3, size=len(asked))) + 0.5
    summary = map_range_summaries(means, 6.0, lines, asked)
    for k, (row, line) in enumerate(zip(asked, lines)):
        one = map_range_distribution(list(means[row]), 6.0, float(line))
        assert summary.p_over[k] == pytest.approx(one.p_over, abs=1e-9)
        assert (summary.low[row], summary.high[row]) == one.interval_80
