"""Map ranges as served: totals built from the right maps, priced with the served NB convolution (checked
against scipy), calibrated on earlier months only."""

from datetime import datetime

import numpy as np
import polars as pl
import pytest
from scipy import stats as st

from outscaled.models.ranges import range_metrics, range_rows, raw_p_over

MONTHS = ["2025-01", "2025-02"]


def _oof() -> pl.DataFrame:
    """Hand-made out-of-fold rows: one player, two series (three maps, then two), one stat."""
    rows = []
    for series, maps, month in (("s1", 3, "2025-01"), ("s2", 2, "2025-02")):
        for m in range(1, maps + 1):
            rows.append({"stat": "kills", "player_key": "p", "series_id": series, "map_number": m,
                         "target": float(m + 1), "series_start": datetime(2025, int(month[5:]), 1),
                         "game_start": datetime(2025, int(month[5:]), 1, m), "month": month, "nb_size": 8.0,
                         "median": 3.0, "rolling_poisson_expected": 3.0, "expected": 2.0 + 0.5 * m,
                         "expected_average": 2.5})
    return pl.DataFrame(rows)


def test_ranges_sum_the_maps_of_one_series_at_the_scaled_median_line():
    rows = range_rows(_oof()).sort(["series_id", "range"])
    got = {(r["series_id"], r["range"]): r for r in rows.iter_rows(named=True)}
    assert set(got) == {("s1", "1"), ("s1", "2"), ("s1", "3"), ("s1", "1-2"), ("s1", "1-3"), ("s1", "2-3"),
                        ("s2", "1"), ("s2", "2"), ("s2", "1-2")}  # no 1-3 or 2-3 where map 3 was not played
    assert got[("s1", "1-3")]["target"] == 2 + 3 + 4 and got[("s1", "1-3")]["line"] == 9.5  # floor(3 x 3) + 0.5
    assert got[("s1", "2-3")]["means_model_named"] == [3.0, 3.5]
    assert got[("s1", "1-2")]["means_model_average"] == [2.5, 2.5]
    assert got[("s1", "1-2")]["outcome"] == float(2 + 3 > 6.5)


def test_range_p_over_is_the_nb_convolution():
    rows = range_rows(_oof())
    p = raw_p_over(rows, "means_model_named")
    size = 8.0
    for r, value in zip(rows.iter_rows(named=True), p):
        pmfs = [st.nbinom.pmf(np.arange(200), size, size / (size + mu)) for mu in r["means_model_named"]]
        total = pmfs[0]
        for pmf in pmfs[1:]:
            total = np.convolve(total, pmf)[:200]
        assert value == pytest.approx(total[int(np.floor(r["line"])) + 1:].sum(), abs=1e-9)


def test_metrics_per_stat_range_mode_and_opponent():
    rows = range_rows(_oof())
    scored = rows.with_columns(pl.lit(0.4).alias("p_over_model_named"), pl.lit(0.45).alias("p_over_model_average"),
                               pl.lit(0.5).alias("p_over_rolling_poisson"))
    table = range_metrics(scored)
    assert set(table["opponent"]) == {"named", "average"} and set(table["range"]) == {"1", "2", "3", "1-2", "1-3", "2-3"}
    one = table.filter((pl.col("range") == "1-2") & (pl.col("opponent") == "named")).row(0, named=True)
    assert one["n"] == 2 and one["mean_p_over"] == pytest.approx(0.4)


def test_ece_floor_is_the_ece_of_a_calibrated_forecaster_on_as_many_rows():
    from outscaled.models.ranges import ece_floor

    small, small_p95 = ece_floor(np.full(400, 0.5))
    large, _ = ece_floor(np.full(40_000, 0.5))
    # one bin at 0.5: ECE = |mean(y) - 0.5|, whose median is 0.6745 standard deviations (0.5 / sqrt(n))
    assert small == pytest.approx(0.6745 * 0.5 / 20, rel=0.25) and small_p95 > small
    assert large == pytest.approx(0.6745 * 0.5 / 200, rel=0.25)
    assert ece_floor(np.full(400, 0.5)) == (small, small_p95)  # the same rows give the same floor


def test_rows_of_one_game_that_move_together_raise_the_floor_as_fewer_draws_would():
    from outscaled.models.ranges import ece_floor, within_game_correlation

    p = np.full(4_000, 0.5)
    games = np.repeat(np.arange(400), 10)  # ten players a game
    independent, _ = ece_floor(p)
    together, _ = ece_floor(p, games=games, correlation=1.0)  # all ten always on the same side: 400 draws
    assert together == pytest.approx(0.6745 * 0.5 / 20, rel=0.25) and together > 2.5 * independent
    assert ece_floor(p, games=games, correlation=0.0) == ece_floor(p)

    rng = np.random.default_rng(3)
    shared = np.repeat(rng.random(400) < 0.5, 10)  # each game's rows the same outcome
    assert within_game_correlation(p, shared.astype(float), games) == pytest.approx(1.0)
    assert abs(within_game_correlation(p, (rng.random(4_000) < 0.5).astype(float), games)) < 0.03
    # the correlation the copula is given is the one its draws show
    latent = np.sin(np.pi / 2 * 0.4)
    z = np.sqrt(latent) * rng.standard_normal(400)[np.arange(4_000) // 10] + np.sqrt(1 - latent) * rng.standard_normal(4_000)
    assert within_game_correlation(p, (z < 0).astype(float), games) == pytest.approx(0.4, abs=0.05)
