"""dbt's marts are read as of the newest recorded build: a build that wrote some marts and then died (or
failed a test) is not seen by readers, through pyiceberg or through `outscaled sql`."""

import pyarrow as pa

from outscaled.lakehouse.dbt_iceberg import write_iceberg
from outscaled.lakehouse.loads import newest_build, read_as_of_cut, record_build
from outscaled.lakehouse.sql import run_query


def _write(catalog, identifier: str, values: list[int]) -> None:
    write_iceberg(catalog, identifier, pa.table({"value": pa.array(values, pa.int64())}))


def _seen(catalog, identifier: str) -> tuple[list[int], list[int]]:
    through_sql = [row[0] for row in run_query(catalog, f"select value from {identifier} order by value").fetchall()]
    return sorted(read_as_of_cut(catalog, identifier)["value"].to_list()), through_sql


def test_readers_see_the_newest_recorded_build_only(catalog):
    _write(catalog, "gold.player_features", [1, 2])
    _write(catalog, "gold.team_features", [10])
    assert _seen(catalog, "gold.player_features") == ([1, 2], [1, 2])  # no build recorded yet: as it is
    record_build(catalog, "build-1", ["gold.player_features", "gold.team_features"])

    _write(catalog, "gold.player_features", [1, 2, 3])  # the next build wrote one mart, then died
    assert _seen(catalog, "gold.player_features") == ([1, 2], [1, 2])
    assert _seen(catalog, "gold.team_features") == ([10], [10])

    _write(catalog, "gold.team_features", [10, 11])
    tables = record_build(catalog, "build-2", ["gold.player_features", "gold.team_features"])
    assert _seen(catalog, "gold.player_features") == ([1, 2, 3], [1, 2, 3])
    assert _seen(catalog, "gold.team_features") == ([10, 11], [10, 11])
    assert newest_build(catalog) == tables


def test_a_build_of_some_marts_keeps_the_others_pinned(catalog):
    _write(catalog, "gold.player_features", [1])
    _write(catalog, "gold.team_features", [10])
    record_build(catalog, "build-1", ["gold.player_features", "gold.team_features"])
    _write(catalog, "gold.player_features", [2])
    _write(catalog, "gold.team_features", [20])  # written outside the recorded build
    record_build(catalog, "build-2", ["gold.player_features"])
    assert _seen(catalog, "gold.player_features") == ([2], [2])
    assert _seen(catalog, "gold.team_features") == ([10], [10])
