"""The promotion gate, promotion and rollback on the real Iceberg registry table."""

from datetime import datetime

import pytest

from outscaled.models.registry import champions, gate, promote, read_registry, register, rollback

GOOD = {"n": 1000, "model": {"log_loss": 0.60, "ece": 0.01}}
WORSE = {"n": 1000, "model": {"log_loss": 0.65, "ece": 0.01}}
UNCALIBRATED = {"n": 1000, "model": {"log_loss": 0.60, "ece": 0.05}}
MODELS = ("kills", "deaths", "assists", "cs", "win")


def _register(catalog, version, metrics):
    return register(catalog, version, {m: metrics for m in MODELS}, datetime(2025, 1, 1), 100, "hash", {})


def test_gate_rules():
    assert gate(GOOD, None, "kills").promoted
    assert not gate(WORSE, GOOD, "kills").promoted
    assert "log_loss" in gate(WORSE, GOOD, "kills").reason
    assert not gate(UNCALIBRATED, GOOD, "kills").promoted
    assert gate({"n": 1, "model": {"log_loss": 0.6025, "ece": 0.01}}, GOOD, "kills").promoted  # within margin


def test_worse_candidate_stays_candidate_with_reason(catalog):
    _register(catalog, "v1", GOOD)
    decisions = _register(catalog, "v2", WORSE)
    assert not any(d.promoted for d in decisions)
    registry = read_registry(catalog)
    assert champions(registry) == {m: "v1" for m in MODELS}
    v2 = registry.filter(registry["version"] == "v2")
    assert set(v2["status"]) == {"candidate"} and all("worse" in r for r in v2["reason"])


def test_promote_and_rollback(catalog):
    _register(catalog, "v1", GOOD)
    _register(catalog, "v2", WORSE)
    promote(catalog, "v2")
    assert champions(read_registry(catalog)) == {m: "v2" for m in MODELS}
    restored = rollback(catalog)
    assert restored == {m: "v1" for m in MODELS}
    assert champions(read_registry(catalog)) == {m: "v1" for m in MODELS}


def test_unknown_version_and_empty_rollback_are_clear_errors(catalog):
    _register(catalog, "v1", GOOD)
    with pytest.raises(ValueError, match="unknown model version v9"):
        promote(catalog, "v9")
    with pytest.raises(ValueError, match="nothing to roll back"):
        rollback(catalog)
