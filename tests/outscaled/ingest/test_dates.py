import polars as pl
import pytest

from outscaled.ingest.dates import AmbiguousDateOrder, detect_date_order, parse_dates


def test_day_first_detected_from_a_day_above_12():
    assert detect_date_order(pl.Series(["17/01/2024 8:20", "02/03/2024 9:00"])) == "dmy"


def test_month_first_detected_from_a_day_above_12_in_second_place():
    assert detect_date_order(pl.Series(["9/29/2016 22:28 ", "10/1/2016 7:00"])) == "mdy"


def test_iso_dates_need_no_order():
    assert detect_date_order(pl.Series(["2024-01-01 05:13:15"])) is None


def test_undecidable_dates_raise():
    with pytest.raises(AmbiguousDateOrder):
        detect_date_order(pl.Series(["1/2/2020 1:00", "3/4/2020 1:00"]))


def test_parse_all_known_formats():
    values = pl.Series(["17/01/2024 8:20", "2024-01-01 05:13:15", "2022-01-14T16:19:00Z", "garbage"])
    parsed = parse_dates(values, "dmy").to_list()
    assert [str(v) for v in parsed[:3]] == ["2024-01-17 08:20:00", "2024-01-01 05:13:15", "2022-01-14 16:19:00"]
    assert parsed[3] is None
