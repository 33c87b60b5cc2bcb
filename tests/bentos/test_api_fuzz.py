"""Fuzzing the real service (`bentoml serve`, the `service` fixture) from the OpenAPI document it serves:
schemathesis 4 (`st run --checks all`) generates valid and invalid requests for every route, and the run
fails on any 5xx and on any answer that breaks the document (status, content type, headers, body schema),
any invalid request that is accepted, and any valid one that is refused for no rule the document states
(tests/bentos/fuzz_checks.py). Each run prints how many requests it sent and their statuses.

Runs: the document as served, with a reader key (Authorization: Bearer); the same with the snapshot's
real player, team and champion names put into the document, so valid requests reach the models and
are answered (X-API-Key); without a key, every secured route must answer a documented 401; and with auth
off, a service of its own (as local development runs it: no security in the document). With a key,
schemathesis also sends each request without it and with a wrong one, and checks those are refused.

The test home serves no `cs` model (no backtest to judge it by), and a stat without a champion model is
a 503 by design (README): the runs ask only the stats /models/status says are served.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest

import tests.conftest
from outscaled.config import PROJECT_ROOT, load_settings
from outscaled.features.schema import STATS
from outscaled.lakehouse.catalog import open_catalog
from outscaled.models.registry import champions, read_registry
from outscaled.online.redis_server import connect, stop_embedded
from outscaled.online.service_process import free_port, running_service
from outscaled.online.snapshot import publish
from outscaled.online.store import SnapshotStore
from tests.conftest import environment

ST = str(Path(sys.executable).parent / "st")
SEED = os.environ.get("OUTSCALED_FUZZ_SEED", "20261201")  # fixed, so that CI is repeatable; set it to explore
MIN_REQUESTS = 1000


def _get(base_url: str, path: str, headers: dict[str, str]) -> dict:
    with urllib.request.urlopen(urllib.request.Request(base_url + path, headers=headers), timeout=30) as answer:
        return json.loads(answer.read())


def _walk(node, visit) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def served_document(base_url: str, headers: dict[str, str]) -> dict:
    """The service's /openapi.json with every `stat` choice cut to the stats it serves now."""
    document = _get(base_url, "/openapi.json", {})
    served = [stat for stat in STATS if stat in _get(base_url, "/models/status", headers)["serving"]]

    def only_served(node: dict) -> None:
        if node.get("enum") == list(STATS):
            node["enum"] = served
    _walk(document, only_served)
    return document


def with_real_names(document: dict, players: list[str], teams: list[str], champions: list[str]) -> dict:
    """`document` with names taken from the snapshot: valid requests then name a known player, teams
    and champions, and reach the models instead of a 404."""
    document = json.loads(json.dumps(document))
    schemas = document["components"]["schemas"]

    def name(choices: list[str], optional: bool) -> dict:
        return {"anyOf": [{"enum": choices}, {"type": "null"}]} if optional else {"enum": choices}
    single = schemas["PredictionRequest"]["properties"]
    single["player"] = name(players, False)
    for field in ("team", "opponent"):
        single[field] = name(teams, True)
    single["champion"] = name(champions, True)
    match = schemas["MatchRequest"]["properties"]
    match["team_a"], match["team_b"] = name(teams, False), name(teams, False)
    for parameter in document["paths"]["/predict/curve/{player_id}"]["get"]["parameters"]:
        if parameter["name"] == "player_id":
            parameter["schema"] = {"type": "string", "enum": players}
        if parameter["name"] == "opponent":
            parameter["schema"] = {"type": "string", "enum": teams}
    return document


def st_run(name: str, document: dict, base_url: str, folder: Path, max_examples: int, auth: dict[str, str],
           *options: str) -> Counter:
    """One `st run` of every check (positive_data_acceptance replaced by fuzz_checks' own) with `auth`
    (security scheme -> its settings, e.g. {"Bearer": {"bearer": key}}): schemathesis then also checks that
    a request without it, or with a wrong one, is refused. Returns the statuses of every request it sent
    (from its HAR report)."""
    schema, har, config = folder / f"{name}.json", folder / f"{name}.har", folder / f"{name}.toml"
    schema.write_text(json.dumps(document))
    config.write_text("".join(f"[auth.openapi.{scheme}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
                              for scheme, values in auth.items()))
    command = [ST, "--no-color", "--config-file", str(config), "run", str(schema), "--url", base_url,
               "--checks", "all", "--exclude-checks", "positive_data_acceptance", "--max-examples", str(max_examples),
               "--seed", SEED, "--generation-database", "none", "--request-timeout", "30", "--workers", "1",
               "--report", "har", "--report-har-path", str(har), *options]
    # run in `folder`: schemathesis keeps its crash cache in the working directory
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.bentos.fuzz_checks",
                                 "PYTHONPATH": str(PROJECT_ROOT)})
    statuses = Counter(entry["response"]["status"] for entry in json.loads(har.read_text())["log"]["entries"])
    print(f"\n{name}: {sum(statuses.values()):,} requests, statuses {dict(sorted(statuses.items()))}")
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    return statuses


def _reader_key() -> str | None:
    """The tests' reader key (tests/conftest.py's SERVICE_AUTH) when the session service runs with auth on."""
    bearer = getattr(tests.conftest, "SERVICE_AUTH", {}).get("authorization")
    return bearer.removeprefix("Bearer ") if bearer else None


def _headers(key: str | None) -> dict[str, str]:
    return {"x-api-key": key} if key else {}


@pytest.fixture(scope="module")
def sent() -> Counter:
    totals: Counter = Counter()
    yield totals
    print(f"\nfuzzing in all: {sum(totals.values()):,} requests, statuses {dict(sorted(totals.items()))}")


def test_the_document_as_served_with_a_key(service, tmp_path, sent):
    base_url, _ = service
    key = _reader_key()
    auth = {"Bearer": {"bearer": key}} if key else {}
    sent.update(st_run("documented", served_document(base_url, _headers(key)), base_url, tmp_path, 60, auth))


def test_real_names_reach_the_models(service, star, tmp_path, sent):
    base_url, settings = service
    key = _reader_key()
    headers = _headers(key)
    players = [p["name"] for p in _get(base_url, "/players?limit=40", headers)["players"]]
    teams = [t["name"] for t in _get(base_url, "/teams", headers)["teams"]][:40]
    store = SnapshotStore(connect(settings, start=False))
    store.snapshot_id()
    champions = sorted(store.champions.values())[:40]
    assert star in players and teams and champions
    document = with_real_names(served_document(base_url, headers), players, teams, champions)
    auth = {"ApiKeyHeader": {"api_key": key}} if key else {}  # the same key, the other way of sending it
    statuses = st_run("real-names", document, base_url, tmp_path, 80, auth, "--mode", "positive",
                      "--phases", "examples,fuzzing")
    assert statuses[200] >= 300, statuses  # answered, not only refused
    sent.update(statuses)


def test_without_a_key_every_secured_route_is_a_documented_401(service, tmp_path, sent):
    base_url, _ = service
    key = _reader_key()
    if not key:
        pytest.skip("the session service runs with auth off")
    statuses = st_run("no-key", served_document(base_url, _headers(key)), base_url, tmp_path, 10, {})
    assert statuses[401] > statuses[200], statuses
    sent.update(statuses)


@pytest.fixture(scope="module")
def open_service(served_home, tmp_path_factory):
    """The service as local development runs it (OUTSCALED_AUTH=off), on a copy of the served home with
    its own embedded Redis and analytics store: it shares no server and no lock with the session's."""
    home = tmp_path_factory.mktemp("open") / "home"
    shutil.copytree(served_home, home, ignore=lambda folder, names: {"redis", "analytics"} & set(names)
                    if Path(folder) == served_home else set())
    with environment(OUTSCALED_HOME=str(home), OUTSCALED_AUTH="off", OUTSCALED_SERVICE_WORKERS="1"):
        settings = replace(load_settings(), redis_url=None)
        catalog = open_catalog(settings)
        publish(connect(settings), catalog, champions(read_registry(catalog)))
        stack = ExitStack()
        base_url = stack.enter_context(running_service(settings, free_port(), home.parent / "service.log"))
    with stack:
        yield base_url
    stop_embedded(settings)


def test_with_auth_off(open_service, tmp_path, sent):
    document = served_document(open_service, {})
    assert not any(operation.get("security") for path in document["paths"].values() for operation in path.values())
    sent.update(st_run("auth-off", document, open_service, tmp_path, 25, {}))
    assert sum(sent.values()) >= MIN_REQUESTS, sent
