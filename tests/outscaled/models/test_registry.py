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


def _served(losses: dict[str, tuple[float, int]], elo: dict[str, tuple[float, int]] | None = None) -> dict:
    """A served summary whose months have the given (mean log-loss, rows); probabilities in one bin."""
    def months(values):
        return {m: {"n": n, "log_loss_sum": loss * n, "bin_n": [0] * 5 + [n] + [0] * 4,
                    "bin_p": [0] * 5 + [0.55 * n] + [0] * 4, "bin_y": [0] * 5 + [0.55 * n] + [0] * 4}
                for m, (loss, n) in values.items()}
    summary = {"mode": "meta (pre-draft)", "months": months(losses)}
    if elo is not None:
        summary["elo_months"] = months(elo)
    return summary


def test_the_gate_compares_the_served_mode_on_the_months_both_scored():
    # the candidate looks better overall only because its backtest covers an easier, later month
    champion = {**GOOD, "served": _served({"2025-01": (0.62, 1000), "2025-02": (0.62, 1000)})}
    candidate = {**GOOD, "served": _served({"2025-01": (0.66, 1000), "2025-02": (0.66, 1000),
                                            "2025-03": (0.40, 9000)})}
    decision = gate(candidate, champion, "kills")
    assert not decision.promoted
    assert "2 months both scored: 2025-01..2025-02" in decision.reason and "0.6600" in decision.reason


def test_a_win_model_worse_than_elo_alone_is_refused():
    worse = {**GOOD, "served": _served({"2025-01": (0.66, 500)}, elo={"2025-01": (0.65, 500)})}
    decision = gate(worse, None, "win")
    assert not decision.promoted and "Elo alone" in decision.reason
    better = {**GOOD, "served": _served({"2025-01": (0.64, 500)}, elo={"2025-01": (0.65, 500)})}
    assert gate(better, None, "win").promoted


def test_a_version_trained_on_other_feature_columns_is_refused_with_how_to_retrain():
    from outscaled.features.schema import PLAYER_FEATURES, TEAM_FEATURES, schema_hash
    from outscaled.models.store import _check_schemas

    current = {"player_feature_schema": schema_hash(PLAYER_FEATURES), "team_feature_schema": schema_hash(TEAM_FEATURES)}
    _check_schemas("v1", current)  # today's columns: loads
    _check_schemas("v0", {})  # saved before the hashes were recorded: not judged
    with pytest.raises(RuntimeError, match=r"v2 was trained on another feature schema \(team_feature_schema\).*"
                                           r"outscaled materialize --select key:models/stat_line_models"):
        _check_schemas("v2", {**current, "team_feature_schema": schema_hash(TEAM_FEATURES[:-1])})
