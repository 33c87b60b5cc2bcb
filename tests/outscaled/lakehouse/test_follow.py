"""Following bronze through loads: appended rows are read alone, anything else re-reads the table; the rows
always equal a whole read at the readers' snapshot."""

import copy

import orjson
import polars as pl
from polars.testing import assert_frame_equal

from outscaled.ingest.landing import land_bytes
from outscaled.ingest.pipeline import ingest_landed
from outscaled.lakehouse.follow import FollowedTable
from outscaled.lakehouse.loads import read_as_of_cut
from outscaled.stream.publish import file_events
from tests.conftest import SAMPLE_DATA

COLUMNS = ("game_id", "player_name", "kills", "damage_to_champions", "source_checksum")


def _load(catalog, settings, name: str, events: list[dict]) -> None:
    landed = land_bytes(name, b"".join(orjson.dumps(e) + b"\n" for e in events), settings.landing_dir)
    ingest_landed(catalog, [landed], name)


def _same(followed: pl.DataFrame, catalog) -> None:
    order = ["game_id", "player_name", "source_checksum"]
    assert_frame_equal(followed.sort(order), read_as_of_cut(catalog, "bronze.player_games", COLUMNS).sort(order))


def test_a_followed_table_reads_appends_alone_and_anything_else_whole(catalog, settings):
    events = file_events(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv")[:5]
    thinner = copy.deepcopy(events[2:4])
    for event in thinner:
        for row in event["rows"]:
            row.pop("damage_to_champions", None)
    followed = FollowedTable(catalog, "bronze.player_games", COLUMNS)

    _load(catalog, settings, "a.jsonl", events[:2])
    _same(followed.read(), catalog)
    assert followed.last_read == "whole"

    _load(catalog, settings, "b.jsonl", thinner)  # two new games: appended
    rows = followed.read()
    assert followed.last_read == "appended" and rows["game_id"].n_unique() == 4
    _same(rows, catalog)
    followed.read()
    assert followed.last_read == "unchanged"

    _load(catalog, settings, "c.jsonl", events[3:5])  # game 3 replaced by its complete copy, game 4 new
    rows = followed.read()
    assert followed.last_read == "whole" and rows["game_id"].n_unique() == 5
    _same(rows, catalog)
    assert rows.filter(pl.col("game_id") == events[3]["game_id"])["damage_to_champions"].null_count() == 0
