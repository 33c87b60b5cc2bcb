"""Expiring bronze snapshots on a real catalog: readers see the same rows, loads go on, the follower follows."""

import orjson
from polars.testing import assert_frame_equal

from outscaled.ingest.landing import land_bytes
from outscaled.ingest.pipeline import ingest_landed
from outscaled.lakehouse.follow import FollowedTable
from outscaled.lakehouse.loads import read_as_of_cut
from outscaled.lakehouse.maintenance import expire_bronze_snapshots
from outscaled.stream.publish import file_events
from tests.conftest import SAMPLE_DATA

TABLES = ("bronze.player_games", "bronze.team_games", "bronze.quarantine", "bronze.source_files", "bronze.loads")


def _load(catalog, settings, number: int, events: list[dict]) -> None:
    landed = land_bytes(f"batch-{number}.jsonl", b"".join(orjson.dumps(e) + b"\n" for e in events),
                        settings.landing_dir)
    ingest_landed(catalog, [landed], f"load-{number}")


def _read(catalog) -> dict:
    return {t: read_as_of_cut(catalog, t).sort(read_as_of_cut(catalog, t).columns, nulls_last=True) for t in TABLES}


def test_expired_snapshots_change_nothing_readers_see(catalog, settings):
    events = file_events(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv")[:8]
    followed = FollowedTable(catalog, "bronze.player_games", ("game_id", "player_name", "kills"))
    for number in range(6):
        _load(catalog, settings, number, events[number:number + 1])
    followed.read()
    before = _read(catalog)
    snapshots = {t: len(catalog.load_table(t).snapshots()) for t in TABLES}
    assert snapshots["bronze.loads"] == 12

    expired = expire_bronze_snapshots(catalog, keep=2)
    assert expired["bronze.loads"] == 10 and expired["bronze.player_games"] == snapshots["bronze.player_games"] - 2
    assert all(len(catalog.load_table(t).snapshots()) <= 3 for t in TABLES)
    after = _read(catalog)
    for table in TABLES:
        assert_frame_equal(before[table], after[table])

    _load(catalog, settings, 6, events[6:8])  # loads go on, and the follower reads only what they append
    rows = followed.read()
    assert followed.last_read == "appended" and rows["game_id"].n_unique() == 8
