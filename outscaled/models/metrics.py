"""Scores for probabilistic picks and point predictions."""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p > 0.5) == (y > 0.5)))


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() / p.size * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def probability_metrics(p: np.ndarray, y: np.ndarray, expected: np.ndarray | None = None,
                        target: np.ndarray | None = None) -> dict[str, float]:
    scores = {"log_loss": log_loss(p, y), "brier": brier(p, y), "accuracy": accuracy(p, y),
              "ece": expected_calibration_error(p, y)}
    if expected is not None and target is not None:
        scores["mae"] = float(np.mean(np.abs(expected - target)))
    return scores
