"""The GPU bento's trees (NVIDIA's nvForest) answer what LightGBM answers: the parity test.

In CI (no GPU) nvForest runs in its CPU mode: scripts/test.sh installs it (scripts/nvforest.sh cpu) and sets
OUTSCALED_TEST_NVFOREST=required, so these tests run there and never skip. On a GPU machine the same tests
compare nvForest on the GPU with LightGBM (engine "fil" resolves to "fil-gpu" when a CUDA device answers)."""

import os
from datetime import datetime

import numpy as np
import pytest

from outscaled.features.rows import player_matrix, team_matrix
from outscaled.features.schema import STATS
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from outscaled.models import forest
from outscaled.models.registry import champions, read_registry
from outscaled.models.store import load_bundle
from outscaled.online.predictor import Predictor
from outscaled.online.redis_server import connect, embedded_running, stop_embedded
from outscaled.online.requests import SingleRequest
from outscaled.online.snapshot import publish
from tests.conftest import environment

TOLERANCE = 1e-6
NOW = datetime(2026, 1, 1)

if not forest.nvforest_available():
    if os.environ.get("OUTSCALED_TEST_NVFOREST") == "required":
        raise RuntimeError("OUTSCALED_TEST_NVFOREST=required but nvForest is not installed: bash scripts/nvforest.sh cpu")
    pytest.skip("nvForest is not installed (bash scripts/nvforest.sh cpu; scripts/test.sh does it)",
                allow_module_level=True)

FIL = "fil-gpu" if forest.cuda_devices() else "fil-cpu"


@pytest.fixture(scope="module")
def champion_bundle(served_home):
    with environment(OUTSCALED_HOME=str(served_home), REDIS_URL=None):
        from outscaled.config import load_settings

        settings = load_settings()
        catalog = open_catalog(settings)
        version = champions(read_registry(catalog))["kills"]
        return load_bundle(settings, version), catalog


def _with_missing_values(matrix: np.ndarray, seed: int = 7) -> np.ndarray:
    """The real rows plus a copy with a fifth of the cells missing (the default-direction branches)."""
    holes = matrix.copy()
    holes[np.random.default_rng(seed).random(holes.shape) < 0.2] = np.nan
    return np.vstack([matrix, holes])


def test_nvforest_trees_equal_lightgbm_on_every_served_model(champion_bundle):
    bundle, catalog = champion_bundle
    players = _with_missing_values(player_matrix(read_table(catalog.load_table("gold.player_features"))))
    teams = _with_missing_values(team_matrix(read_table(catalog.load_table("gold.team_features"))))
    assert len(players) > 10_000 and len(teams) > 1_000
    for stat in STATS:
        booster = bundle.stats[stat].booster
        compiled = forest.compile_booster(booster, FIL)
        expected, got = booster.predict(players), compiled.predict(players)
        assert got.shape == expected.shape
        assert np.max(np.abs(got - expected)) <= TOLERANCE, stat
    compiled = forest.compile_booster(bundle.win.booster, FIL)
    assert compiled.classifier
    expected, got = bundle.win.booster.predict(teams), compiled.predict(teams)
    assert np.max(np.abs(got - expected)) <= TOLERANCE
    assert 0.0 < got.min() and got.max() < 1.0  # probabilities, not labels


def test_compiled_bundle_predicts_through_nvforest(champion_bundle):
    bundle, catalog = champion_bundle
    rows = player_matrix(read_table(catalog.load_table("gold.player_features")).head(200))
    lightgbm_means = bundle.stats["kills"].predict_mean(rows)
    try:
        assert forest.compile_bundle(bundle, "fil") == FIL
        assert all(model.compiled is not None for model in [*bundle.stats.values(), bundle.win])
        assert np.max(np.abs(bundle.stats["kills"].predict_mean(rows) - lightgbm_means)) <= TOLERANCE
    finally:
        assert forest.compile_bundle(bundle, "lightgbm") == "lightgbm"
    assert bundle.stats["kills"].compiled is None
    assert np.array_equal(bundle.stats["kills"].predict_mean(rows), lightgbm_means)


@pytest.fixture(scope="module")
def predictors(served_home):
    """Two predictors on one snapshot: the champion models on LightGBM and on nvForest."""
    from bentos.service import load_models
    from outscaled.config import load_settings

    engines = {}
    for requested in ("lightgbm", "fil"):
        with environment(OUTSCALED_HOME=str(served_home), REDIS_URL=None, OUTSCALED_INFERENCE=requested):
            settings = load_settings()
            engines[requested], _ = load_models()
    catalog = open_catalog(settings)
    shared = embedded_running(settings)
    client = connect(settings)
    publish(client, catalog, champions(read_registry(catalog)))
    yield {name: Predictor(client, models, clock=lambda: NOW) for name, models in engines.items()}
    if not shared:
        stop_embedded(settings)


def _numbers(answer, path=()):
    """Every number in an answer, by its path (reasoning texts compared as they are)."""
    if isinstance(answer, dict):
        for k, v in answer.items():
            yield from _numbers(v, (*path, k))
    elif isinstance(answer, (list, tuple)):
        for i, v in enumerate(answer):
            yield from _numbers(v, (*path, i))
    elif isinstance(answer, (int, float)) and not isinstance(answer, bool):
        yield path, float(answer)


def test_the_service_answers_the_same_on_either_engine(predictors):
    """Every stat, every map range, a named and an average opponent, a batch: the nvForest service's answers
    equal the LightGBM service's within 1e-6, and say the same things."""
    cpu, fil = predictors["lightgbm"], predictors["fil"]
    assert all(m.compiled is not None for b in fil.models.bundles.values() for m in b.stats.values())
    assert all(m.compiled is None for b in cpu.models.bundles.values() for m in b.stats.values())
    players = cpu.search_players("", limit=15)
    teams = [t["name"] for t in cpu.teams()][:2]
    served = sorted(stat for stat in cpu.models.serving if stat != "win")
    assert served
    requests = [SingleRequest(p["name"], stat, 2.5, 1, maps, opponent=opponent)
                for p in players for stat in served for maps in (1, 2, 3, 5) for opponent in (None, teams[0])]
    lightgbm_answers, fil_answers = cpu.many(requests), fil.many(requests)
    assert len(lightgbm_answers) == len(requests) > 300
    compared = 0
    for a, b in zip(lightgbm_answers, fil_answers):
        assert type(a) is type(b)
        if isinstance(a, dict):
            numbers_a, numbers_b = dict(_numbers(a)), dict(_numbers(b))
            assert numbers_a.keys() == numbers_b.keys()
            for path, value in numbers_a.items():
                assert numbers_b[path] == pytest.approx(value, abs=TOLERANCE), path
            assert a.get("reasoning") == b.get("reasoning")
            compared += 1
    assert compared > 300
    match_a, match_b = cpu.match(teams[0], teams[1], 3), fil.match(teams[0], teams[1], 3)
    assert dict(_numbers(match_b)) == pytest.approx(dict(_numbers(match_a)), abs=TOLERANCE)


def test_engine_choice():
    with pytest.raises(ValueError, match="OUTSCALED_INFERENCE"):
        forest.resolve_engine("cuda")
    assert forest.resolve_engine("lightgbm") == "lightgbm"
    assert forest.resolve_engine("fil") == FIL
    if forest.cuda_devices():
        assert forest.resolve_engine("auto") == forest.resolve_engine("gpu") == "fil-gpu"
    else:  # CI: the GPU bento on a CPU machine falls back to LightGBM, and "gpu" refuses to start
        assert forest.resolve_engine("auto") == "lightgbm"
        with pytest.raises(RuntimeError, match="no CUDA device"):
            forest.resolve_engine("gpu")
