"""A/B and shadow splits: sticky arms by caller, proportions, every answer naming its version and arm, a
shadow challenger scored and not returned (real Redis, the served home's champion models)."""

from datetime import datetime

import pytest

from outscaled.lakehouse.catalog import open_catalog
from outscaled.models.registry import champions, read_registry
from outscaled.models.store import load_bundle
from outscaled.online.arms import CHALLENGER, CHAMPION, SPLITS_KEY, Split, arm_for, read_splits, write_split
from outscaled.online.predictor import Predictor
from outscaled.online.redis_server import connect
from outscaled.online.requests import SingleRequest
from outscaled.online.snapshot import publish
from tests.conftest import environment

NOW = datetime(2026, 1, 1)
CHALLENGER_VERSION = "v-challenger"


def test_arms_are_sticky_and_in_proportion():
    callers = [f"key{i}" for i in range(20_000)]
    arms = [arm_for(c, "kills", 0.3) for c in callers]
    assert abs(arms.count(CHALLENGER) / len(arms) - 0.3) < 0.015
    assert arms == [arm_for(c, "kills", 0.3) for c in callers]  # the same caller, the same arm
    assert all(arm_for(c, "kills", 0.0) == CHAMPION for c in callers[:500])
    assert all(arm_for(c, "kills", 1.0) == CHALLENGER for c in callers[:500])
    assists = [arm_for(c, "assists", 0.3) for c in callers]
    both = sum(a == b == CHALLENGER for a, b in zip(arms, assists)) / len(callers)
    assert abs(both - 0.09) < 0.012  # stats split independently (0.3 x 0.3)


@pytest.fixture(scope="module")
def predictor(served_home):
    """A predictor whose challenger version is loaded on demand by its loader (the champion's own files
    under another version name: the routing is what is tested, and both arms answer the same numbers)."""
    from outscaled.config import load_settings
    from bentos.service import load_models

    with environment(OUTSCALED_HOME=str(served_home), REDIS_URL=None):
        settings = load_settings()
        models, _ = load_models()
    catalog = open_catalog(settings)
    client = connect(settings)
    publish(client, catalog, champions(read_registry(catalog)))
    champion = models.serving["kills"]
    service = Predictor(client, models, clock=lambda: NOW, loader=lambda version: load_bundle(settings, champion))
    yield service, client
    client.delete(SPLITS_KEY)


def _wait_loaded(service: Predictor) -> None:
    import time

    deadline = time.monotonic() + 30
    while CHALLENGER_VERSION not in service.models.bundles and time.monotonic() < deadline:
        service.live_splits()
        time.sleep(0.05)
    service.splits._read_at = float("-inf")  # read the split again now, not after its TTL


def test_a_split_answers_each_caller_from_its_arm(predictor):
    service, client = predictor
    write_split(client, Split("kills", CHALLENGER_VERSION, 0.5))
    assert read_splits(client)["kills"].weight == 0.5
    service.splits._read_at = float("-inf")
    _wait_loaded(service)
    name = service.search_players("")[0]["name"]
    request = SingleRequest(name, "kills", 2.5, 1, 2)
    champion = service.models.serving["kills"]
    answers = {caller: service.single(request, caller) for caller in (f"key{i}" for i in range(200))}
    for caller, answer in answers.items():
        expected_arm = arm_for(caller, "kills", 0.5)
        assert answer["arm"] == expected_arm
        assert answer["model_version"] == (CHALLENGER_VERSION if expected_arm == CHALLENGER else champion)
        assert service.single(request, caller)["arm"] == expected_arm  # sticky
    share = sum(a["arm"] == CHALLENGER for a in answers.values()) / len(answers)
    assert 0.4 < share < 0.6
    # the same files under both versions: the numbers agree, only the labels differ
    plain = [{k: v for k, v in a.items() if k not in ("arm", "model_version")} for a in answers.values()]
    assert all(p == plain[0] for p in plain)
    other = service.single(SingleRequest(name, "assists", 4.5, 1, 1), "key1")  # no split on assists
    assert (other["arm"], other["model_version"]) == (CHAMPION, service.models.serving["assists"])
    assert service.status()["splits"]["kills"] == {"version": CHALLENGER_VERSION, "weight": 0.5, "shadow": False,
                                                   "loaded": True}


def test_a_shadow_challenger_is_scored_and_never_returned(predictor):
    service, client = predictor
    write_split(client, Split("kills", CHALLENGER_VERSION, 0.0, shadow=True))
    service.splits._read_at = float("-inf")
    _wait_loaded(service)
    name = service.search_players("")[0]["name"]
    requests = [SingleRequest(name, "kills", 2.5, 1, 2), SingleRequest(name, "assists", 4.5, 1, 1)]
    answers = [service.many(requests, f"key{i}") for i in range(20)]
    assert all(a["arm"] == CHAMPION for batch in answers for a in batch)
    shadow = service.shadow(requests)
    assert shadow[0]["model_version"] == CHALLENGER_VERSION and shadow[0]["arm"] == "shadow"
    assert shadow[1] is None  # no shadow split on assists
    assert shadow[0]["p_over"] == answers[0][0]["p_over"]  # same files, same numbers
    write_split(client, Split("kills", CHALLENGER_VERSION, 0.0))  # weight 0, not shadow: cleared
    assert "kills" not in read_splits(client)


def test_the_split_command_checks_the_version_and_writes_the_split(served_home, capsys, predictor):
    from outscaled.cli import main

    service, client = predictor
    version = service.models.serving["kills"]
    with environment(OUTSCALED_HOME=str(served_home), REDIS_URL=None):
        assert main(["models", "split", "kills", "v-nowhere", "0.2"]) == 1
        assert "no version v-nowhere of the kills model" in capsys.readouterr().err
        assert main(["models", "split", "kills", version, "1.5"]) == 1
        assert main(["models", "split", "kills", version, "0.2"]) == 0
        assert read_splits(client)["kills"] == Split("kills", version, 0.2)
        assert main(["models", "split", "kills", version, "0"]) == 0
    assert "kills" not in read_splits(client)
