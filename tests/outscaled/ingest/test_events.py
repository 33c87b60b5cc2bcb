"""Events files: the columnar reader (Arrow's JSON reader) gives exactly what the line-by-line reader gives,
for clean batches and for every kind of poison event (which send it to the line-by-line reader)."""

import copy
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from outscaled.ingest import events
from outscaled.ingest.readers import read_source_file
from outscaled.stream.publish import file_events
from tests.conftest import SAMPLE_DATA


def _poisoned(real: list[dict]) -> dict[str, list[dict | bytes]]:
    """Real events, then one defect each (the statistics stay the real ones, apart from the defect)."""
    def edited(change) -> list[dict]:
        batch = copy.deepcopy(real)
        change(batch)
        return batch

    def put(event: int, row: int, column: str, value):
        return lambda batch: batch[event]["rows"][row].__setitem__(column, value)

    return {
        "clean": real,
        "a fractional and a text count": edited(lambda b: (put(1, 0, "kills", 3.5)(b), put(1, 1, "kills", 4.0)(b),
                                                          put(2, 0, "deaths", "abc")(b))),
        "a day-first date": edited(put(1, 0, "date", "15/01/2016 10:00")),
        "ISO dates without time and with Z": edited(lambda b: (put(1, 0, "date", "2016-10-01")(b),
                                                                put(2, 0, "date", "2016-10-01T10:00:00Z")(b))),
        "an unknown column": edited(put(1, 0, "foo", 1)),
        "a boolean count": edited(put(1, 0, "kills", True)),
        "a row's own errors": edited(put(1, 0, "row_errors", "kills='x' is not a number")),
        "an event without rows": edited(lambda b: b[1].__setitem__("rows", [])),
        "a row that is not an object": edited(lambda b: b[1]["rows"].__setitem__(0, 5)),
        "a number as a name": edited(put(1, 0, "player_name", 12)),
        "a number as a patch": edited(put(1, 0, "patch", 6.18)),
        "null and NA values": edited(lambda b: (put(1, 0, "kills", None)(b), put(1, 0, "total_gold", "NA")(b))),
        "a line that is not JSON": [real[0], b'{"event_id": "half', real[1]],
    }


@pytest.fixture(scope="module")
def real_events() -> list[dict]:
    return file_events(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv")[:6]


# case -> whether some row must carry a problem (the others are unusual but valid)
CASES = {"clean": False, "a fractional and a text count": True, "a day-first date": True,
         "ISO dates without time and with Z": False, "an unknown column": True, "a boolean count": False,
         "a row's own errors": True, "an event without rows": True, "a row that is not an object": True,
         "a number as a name": False, "a number as a patch": False, "null and NA values": False,
         "a line that is not JSON": True}


@pytest.mark.parametrize("case", list(CASES))
def test_columnar_and_line_by_line_readers_agree(case, real_events, tmp_path: Path, monkeypatch):
    batch = _poisoned(real_events)[case]
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"".join((e if isinstance(e, bytes) else orjson.dumps(e)) + b"\n" for e in batch))
    columnar = read_source_file(path, "checksum", None, path.name)
    monkeypatch.setattr(events, "_columnar_events", lambda data: None)
    line_by_line = read_source_file(path, "checksum", None, path.name)
    assert columnar.rows.height > 0
    assert_frame_equal(columnar.rows, line_by_line.rows)
    assert (columnar.rows["row_errors"] != "").any() == CASES[case]


def test_a_clean_batch_takes_the_columnar_reader(real_events, tmp_path: Path):
    data = b"".join(orjson.dumps(e) + b"\n" for e in real_events)
    frame = events._columnar_events(data)
    assert frame is not None and frame.height == sum(len(e["rows"]) for e in real_events)
    assert frame.schema["kills"] == pl.Int64 and frame.schema["date"] == pl.Datetime("us")


def test_two_events_of_one_game_in_a_batch_store_the_more_complete_copy_once(real_events, catalog, settings):
    from outscaled.ingest.landing import land_bytes
    from outscaled.ingest.pipeline import ingest_landed
    from outscaled.lakehouse.loads import read_as_of_cut

    game = real_events[1]
    thinner = copy.deepcopy(game)
    for row in thinner["rows"]:
        row.pop("damage_to_champions", None)
    batch = [real_events[0], thinner, game, game]  # a re-published game, and a copy with a column missing
    landed = land_bytes("batch.jsonl", b"".join(orjson.dumps(e) + b"\n" for e in batch), settings.landing_dir)
    report = ingest_landed(catalog, [landed], "test")
    players = read_as_of_cut(catalog, "bronze.player_games")
    assert report.quarantined_rows == 0
    assert players.group_by("game_id").len()["len"].to_list() == [10, 10]
    stored = players.filter(pl.col("game_id") == game["game_id"])
    assert stored["damage_to_champions"].null_count() == 0, "the complete copy won"
    assert sorted(stored["source_line"].to_list()) == list(range(25, 35)), "the first complete copy (3rd event)"
