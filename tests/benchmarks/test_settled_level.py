"""The season-boundary recalibration experiment (benchmarks/settled_level.py): a stat's level for a week
comes from series settled before it only."""

from datetime import datetime, timedelta

import polars as pl
import pytest

from benchmarks.settled_level import MIN_SETTLED_MAPS, settled_level


def _ranges() -> pl.DataFrame:
    """Single-map ranges of kills, 100 a day from Monday 2025-01-06 for three weeks: the model expected 2.0 a
    map; the first week's players made 3.0 a map, the second week's 2.5; a 1-2 range that must not count."""
    rows = []
    for day in range(21):
        start = datetime(2025, 1, 6, 12) + timedelta(days=day)
        target = 3.0 if day < 7 else 2.5
        rows += [{"stat": "kills", "range": "1", "series_start": start, "target": target, "means_model_named": [2.0]}] * 100
        rows.append({"stat": "kills", "range": "1-2", "series_start": start, "target": 50.0,
                     "means_model_named": [2.0, 2.0]})
    return pl.DataFrame(rows)


def test_a_weeks_level_uses_only_series_settled_before_it():
    levels = settled_level(_ranges()).filter(pl.col("stat") == "kills").sort("week")
    assert levels["week"].to_list() == [datetime(2025, 1, 6), datetime(2025, 1, 13), datetime(2025, 1, 20)]
    first, second, third = levels["level"].to_list()
    assert first == 1.0  # nothing settled before the first week
    # before 13 Jan minus a day: 6 days x 100 maps of 3.0 against 2.0 expected
    assert 600 >= MIN_SETTLED_MAPS and second == pytest.approx(3.0 / 2.0)
    # before 20 Jan minus a day: 7 days of 3.0 and 6 days of 2.5
    assert third == pytest.approx((700 * 3.0 + 600 * 2.5) / (1300 * 2.0))


def test_too_few_settled_maps_leave_the_level_alone():
    few = _ranges().filter(pl.col("series_start") < datetime(2025, 1, 8))  # 200 single maps in all
    assert set(settled_level(few).filter(pl.col("stat") == "kills")["level"].to_list()) == {1.0}
