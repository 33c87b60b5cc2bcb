"""`outscaled replay` on the bundled sample: a few real days walked forward through the real service and the
stream in a scratch home; its numbers are consistent (every series settled, coverage, freshness) and the
user's home is untouched."""

from __future__ import annotations

import json
from datetime import date

import pytest

from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.loads import read_as_of_cut
from outscaled.replay import day_series, replay
from outscaled.stream.publish import file_events
from tests.conftest import SAMPLE_DATA

FILE = SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"
DAYS = (date(2024, 2, 5), date(2024, 2, 7))


def _user_tables(settings) -> dict:
    catalog = open_catalog(settings)
    return {name: read_as_of_cut(catalog, name).height for name in
            ("bronze.player_games", "bronze.team_games", "gold.player_features", "gold.model_registry")}


@pytest.fixture(scope="module")
def replayed(served_home, tmp_path_factory):
    from tests.conftest import environment

    with environment(OUTSCALED_HOME=str(served_home), OUTSCALED_ENV="ci", REDIS_URL=None):
        settings = load_settings()
        before = _user_tables(settings)
        messages: list[str] = []
        work = tmp_path_factory.mktemp("replay")
        result, rows = replay(settings, [FILE], *DAYS, work=work, progress=messages.append)
        after = _user_tables(settings)
        yield {"result": result, "rows": rows, "messages": messages, "before": before, "after": after, "work": work}


def test_every_day_is_asked_before_and_served_after(replayed):
    events = [e for e in file_events(FILE) if DAYS[0].isoformat() <= e["game_start"][:10] <= DAYS[1].isoformat()]
    days = replayed["result"].days
    assert [d["day"] for d in days] == sorted({e["game_start"][:10] for e in events})
    assert sum(d["games"] for d in days) == len(events)
    assert all(d["served_s"] is not None for d in days), days  # each day's games reached the service
    assert all(d["answered"] > 0 for d in days)


def test_every_series_and_answer_is_settled_against_what_happened(replayed):
    result, rows = replayed["result"], replayed["rows"]
    events = [e for e in file_events(FILE) if DAYS[0].isoformat() <= e["game_start"][:10] <= DAYS[1].isoformat()]
    series = sum(len(day_series([e for e in events if e["game_start"][:10] == d["day"]])) for d in result.days)
    assert len(result.matches) == series and all(m.a_won is not None for m in result.matches)
    by_row = {r["what"]: r for r in rows}
    assert "series winner" in by_row and by_row["series winner"]["asked"] == series
    for row in rows:
        model = row["model"]
        assert 0.0 <= row["coverage"] <= 1.0
        if row["what"] == "series winner":
            continue
        assert row["coverage"] >= 0.95, row  # every named player of the day has history in the sample
        assert model["n"] == row["baseline"]["n"] <= row["asked"]  # both scored on the same settled answers
        assert 0.0 < model["log_loss"] < 2.0 and 0.0 <= model["ece"] <= 1.0 and 0.0 <= model["accuracy"] <= 1.0
    # a map range of m maps exists only for series that played at least m maps, so counts fall with m
    kills = [by_row[w]["asked"] for w in ("kills maps 1-1", "kills maps 1-2", "kills maps 1-3") if w in by_row]
    assert kills == sorted(kills, reverse=True) and kills[0] > 0


def test_nothing_of_the_scratch_home_reaches_the_users_tables(replayed):
    assert replayed["after"] == replayed["before"]
    assert not list(replayed["work"].iterdir())  # the scratch home is removed
    assert any("trained on games up to" in m for m in replayed["messages"])  # the sample's models saw these days


def test_the_command_prints_the_table(served_home, monkeypatch, capsys):
    from outscaled.cli import main

    monkeypatch.setenv("OUTSCALED_HOME", str(served_home))
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["replay", "--data", str(FILE), "--from", "2024-02-07", "--to", "2024-02-07", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [d["day"] for d in printed["days"]] == ["2024-02-07"]
    assert {r["what"] for r in printed["scores"]} >= {"kills maps 1-1", "series winner"}
