"""No leakage: a game's features are exactly what history up to its series start gives, and nothing
that happens later can change them. Both proofs rerun the real dbt project on altered copies of bronze."""

import random
from datetime import timedelta

import polars as pl
import pytest

from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from tests.transforms.helpers import copy_bronze, dbt_build, table

KEY = ["game_id", "player_key"]


def _feature_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if not c.startswith("target_") and c not in KEY]


def _assert_same(expected: pl.DataFrame, actual: pl.DataFrame) -> None:
    assert expected.height == actual.height > 0
    joined = expected.join(actual, on=KEY, suffix="__other")
    assert joined.height == expected.height
    for column in _feature_columns(expected):
        left, right = joined[column], joined[f"{column}__other"]
        assert (left.is_null() == right.is_null()).all(), column
        if left.dtype.is_float():
            both = pl.DataFrame({"a": left, "b": right}).drop_nulls()
            assert ((both["a"] - both["b"]).abs() <= 1e-9 * (1 + both["a"].abs())).all(), column
        else:
            assert (left.drop_nulls() == right.drop_nulls()).all(), column


def _other_home(tmp_path, monkeypatch, name):
    monkeypatch.setenv("OUTSCALED_HOME", str(tmp_path / name))
    settings = load_settings()
    return settings.home, open_catalog(settings)


def test_features_equal_a_recomputation_from_history_cut_at_series_start(built_catalog, tmp_path, monkeypatch):
    series = table(built_catalog, "silver.series").filter(pl.col("series_start").dt.year() == 2025).sort("series_id")
    chosen = series.row(random.Random(7).randrange(series.height), named=True)
    features = table(built_catalog, "gold.player_features")
    expected = features.filter(pl.col("series_id") == chosen["series_id"])
    game_ids = expected["game_id"].unique().to_list()
    assert expected.height == 10 * len(game_ids)

    home, cut_catalog = _other_home(tmp_path, monkeypatch, "cut")
    copy_bronze(built_catalog, cut_catalog, (pl.col("date") < chosen["series_start"]) | pl.col("game_id").is_in(game_ids))
    result = dbt_build(home, "--select", "+player_features")
    assert result.returncode == 0, result.stdout[-3000:]
    recomputed = table(cut_catalog, "gold.player_features").filter(pl.col("game_id").is_in(game_ids))
    _assert_same(expected, recomputed)
    assert expected["games_played"].min() > 0  # a real history was involved, not an empty one


def _clean_cut(series: pl.DataFrame):
    """A midnight no series straddles, in the middle of the data."""
    days = series["series_start"].dt.truncate("1d").unique().sort()
    for day in days[len(days) // 2:]:
        if series.filter((pl.col("series_start") < day) & (pl.col("series_end") >= day)).is_empty():
            return day
    pytest.fail("no clean cut found")


def test_changing_later_games_leaves_earlier_features_unchanged(built_catalog, tmp_path, monkeypatch):
    cut = _clean_cut(table(built_catalog, "silver.series"))
    home, changed_catalog = _other_home(tmp_path, monkeypatch, "changed")
    later = pl.col("date") >= cut

    def rewrite_later_games(frame: pl.DataFrame) -> pl.DataFrame:
        if "kills" not in frame.columns:
            return frame
        return frame.with_columns(
            pl.when(later).then(pl.col("kills") + 3).otherwise(pl.col("kills")).alias("kills"),
            pl.when(later).then(pl.col("team_kills") + 15).otherwise(pl.col("team_kills")).alias("team_kills"),
            pl.when(later).then(1 - pl.col("result")).otherwise(pl.col("result")).alias("result"))

    copy_bronze(built_catalog, changed_catalog, pl.lit(True), edit=rewrite_later_games)
    result = dbt_build(home, "--select", "+player_features")
    assert result.returncode == 0, result.stdout[-3000:]
    original = table(built_catalog, "gold.player_features")
    changed = table(changed_catalog, "gold.player_features")
    before = pl.col("series_start") < cut
    _assert_same(original.filter(before), changed.filter(before))
    # ...while the change does reach the games after the cut (the test has teeth).
    after = original.filter(~before).join(changed.filter(~before), on=KEY, suffix="__other")
    assert (after["kills_avg_5"] != after["kills_avg_5__other"]).any()
    assert (after["target_kills"] + 3 == after["target_kills__other"]).all()
    assert cut - timedelta(days=1) > original["game_start"].min()
