"""Match-results events into bronze on each backend: the same rows a file ingest stores; a consumer killed
(SIGKILL) at every step of a micro-batch and restarted loses nothing and doubles nothing; poison events go
to quarantine with their reason and the stream keeps flowing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import polars as pl
import pytest

from outscaled.config import PROJECT_ROOT, load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.faults import FAULT_VARIABLE
from outscaled.lakehouse.loads import read_as_of_cut
from outscaled.stream.connect import open_stream
from outscaled.stream.consumer import consume
from outscaled.stream.publish import file_events, publish_events
from tests.conftest import SAMPLE_DATA, environment, ingest_process, slice_games

GAMES = 12
# Where a row came from and which load wrote it: differ between a file and a stream by design.
PROVENANCE = ["source_file", "source_checksum", "source_line", "load_id"]


@pytest.fixture(scope="module")
def games_file(tmp_path_factory) -> Path:
    return slice_games(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv", tmp_path_factory.mktemp("file") / "lck.csv", GAMES)


def _bronze(home: Path) -> dict[str, pl.DataFrame]:
    """bronze.player_games and bronze.team_games as readers see them, provenance dropped, sorted."""
    with environment(OUTSCALED_HOME=str(home)):
        catalog = open_catalog(load_settings())
        tables = {}
        for name in ("bronze.player_games", "bronze.team_games"):
            frame = read_as_of_cut(catalog, name)
            frame = frame.drop([c for c in PROVENANCE if c in frame.columns])
            tables[name] = frame.sort(frame.columns, nulls_last=True)
        tables["bronze.quarantine"] = read_as_of_cut(catalog, "bronze.quarantine")
        return tables


@pytest.fixture(scope="module")
def file_ingest(games_file, tmp_path_factory) -> dict[str, pl.DataFrame]:
    """The same games ingested as a file, in a home of their own."""
    home = tmp_path_factory.mktemp("file-home")
    assert ingest_process(home, "file", [games_file]) == 0
    return _bronze(home)


@pytest.fixture
def on_stream(stream_url, topic, monkeypatch):
    monkeypatch.setenv("OUTSCALED_STREAM", stream_url)
    monkeypatch.setenv("OUTSCALED_STREAM_TOPIC", topic)
    return load_settings()


def _assert_same_games(home: Path, file_ingest: dict[str, pl.DataFrame]) -> None:
    stored = _bronze(home)
    for name in ("bronze.player_games", "bronze.team_games"):
        assert stored[name].height == file_ingest[name].height, name
        assert stored[name].equals(file_ingest[name]), f"{name}: the stream stored other rows than the file ingest"
    assert stored["bronze.player_games"]["game_id"].n_unique() == GAMES
    assert stored["bronze.quarantine"].is_empty()


def test_events_of_a_file_reach_bronze_as_the_file_ingest_stores_them(on_stream, home, games_file, file_ingest):
    events = file_events(games_file)
    assert len(events) == GAMES
    assert [e["game_start"] for e in events] == sorted(e["game_start"] for e in events)  # game-time order
    stream = open_stream(on_stream)
    report = publish_events(stream, events)
    assert report.events == GAMES and stream.backlog() == GAMES

    batches = []
    totals = consume(on_stream, idle_s=2.0, batch_events=5, on_batch=batches.append)
    assert totals.events == GAMES and totals.backlog == 0
    assert sum(b.ingest.merges["player_games"].games_added for b in batches) == GAMES
    _assert_same_games(home, file_ingest)
    landed = sorted((home / "landing").rglob("*.jsonl"))
    assert landed, "the raw events are kept in the landing area"
    assert sum(len(p.read_bytes().splitlines()) for p in landed) == GAMES
    assert not list((home / "stream" / "inflight").glob("*"))

    # Published again (a producer that retried): nothing is doubled.
    publish_events(stream, events)
    again = consume(on_stream, idle_s=2.0)
    assert again.events == GAMES and again.backlog == 0
    assert sum(b.ingest.merges["player_games"].games_added for b in again.batches) == 0
    _assert_same_games(home, file_ingest)


def _consume_process(home: Path, fault: str | None, batch: int = 5) -> int:
    environment = {**os.environ, "OUTSCALED_HOME": str(home), "OUTSCALED_ENV": "ci"}
    environment.pop(FAULT_VARIABLE, None)
    if fault:
        environment[FAULT_VARIABLE] = fault
    command = [sys.executable, "-m", "outscaled.cli", "consume", "--idle", "3", "--batch", str(batch)]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=environment, timeout=300, capture_output=True).returncode


@pytest.mark.parametrize("backend,fault", [
    ("redis", "stream:landed"), ("redis", "bronze.player_games"), ("redis", "bronze.loads:complete"),
    ("redis", "stream:ingested"), ("kafka", "stream:landed"), ("kafka", "stream:ingested"),
], indirect=["backend"])
def test_a_consumer_killed_at_any_step_and_restarted_loses_and_doubles_nothing(
        fault, on_stream, home, games_file, file_ingest):
    publish_events(open_stream(on_stream), file_events(games_file))
    assert _consume_process(home, fault) == -9  # SIGKILL right after that step of the first micro-batch
    assert _consume_process(home, None) == 0
    _assert_same_games(home, file_ingest)
    stream = open_stream(on_stream)
    assert stream.backlog() == 0
    assert not list((home / "stream" / "inflight").glob("*")), "every landed batch was finished and acknowledged"


def test_poison_events_are_quarantined_with_their_reason_and_the_stream_keeps_flowing(on_stream, home, games_file):
    events = file_events(games_file)
    nine_players = {**events[1], "rows": [r for r in events[1]["rows"] if r.get("position") != "mid" or
                                          r.get("side") != "Blue"]}
    assert len(nine_players["rows"]) == len(events[1]["rows"]) - 1
    payloads = [orjson.dumps(events[0]), b'{"event_id": "half', orjson.dumps(nine_players),
                orjson.dumps({"event_id": "empty", "game_id": "none-1", "rows": []}),
                *[orjson.dumps(e) for e in events[2:]]]
    stream = open_stream(on_stream)
    stream.publish(payloads)
    totals = consume(on_stream, idle_s=2.0, batch_events=4)
    assert totals.events == len(payloads) and totals.backlog == 0

    with environment(OUTSCALED_HOME=str(home)):
        catalog = open_catalog(load_settings())
        players = read_as_of_cut(catalog, "bronze.player_games")
        quarantine = read_as_of_cut(catalog, "bronze.quarantine")
    stored_games = set(players["game_id"].unique().to_list())
    assert stored_games == {e["game_id"] for e in events} - {events[1]["game_id"]}
    reasons = " | ".join(quarantine["reason"].to_list())
    assert "is not valid JSON" in reasons
    assert "has no rows" in reasons
    assert quarantine.filter(pl.col("game_id") == events[1]["game_id"]).height == len(nine_players["rows"])
    assert "player" in " ".join(quarantine.filter(pl.col("game_id") == events[1]["game_id"])["reason"].to_list())
