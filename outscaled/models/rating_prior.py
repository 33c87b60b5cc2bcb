"""The win model's prior: a logistic regression on the two ratings, the side and the two teams' kill-difference
form, which the trees then correct.

Chosen on the months before 2025 (benchmarks/RESULTS.md, 7 Dec 2026): LightGBM alone on the whole team row
was worse than team Elo alone there (log-loss 0.637 against 0.629), a logistic regression on the ratings was
better (0.626), and 30 boosting rounds from its logit kept that (0.626) where 100 lost it (0.629). The form
input (the difference of the teams' exponentially weighted kills-minus-deaths per game) took the prior alone
from 0.6256 to 0.6243 on those months; over 10 or 20 games it did worse there (0.6261, 0.6275).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The prior's inputs: rating differences per 400 points, as in Elo's expectation (unknown roster Elo: 0 and a
# flag), the side, and the kill-difference form per 10 kills a game (unknown: 0).
PRIOR_INPUTS = ("elo_diff", "roster_elo_diff", "roster_elo_unknown", "side", "kill_diff_form")


def _input(name: str, matrix: np.ndarray, column: dict[str, int]) -> np.ndarray:
    def values(feature: str) -> np.ndarray:
        return matrix[:, column[feature]]

    if name == "elo_diff":
        return np.nan_to_num(values("elo_diff") / 400.0)
    if name == "roster_elo_diff":
        return np.nan_to_num(values("roster_elo_diff") / 400.0)
    if name == "roster_elo_unknown":
        return np.isnan(values("roster_elo_diff")).astype(float)
    if name == "side":
        blue = values("is_blue")
        return np.where(np.isnan(blue), 0.0, 2.0 * blue - 1.0)
    if name == "kill_diff_form":
        own = values("kills_ewm") - values("deaths_ewm")
        opponent = values("opponent_kills_ewm") - values("opponent_deaths_ewm")
        return np.nan_to_num((own - opponent) / 10.0)
    raise ValueError(f"unknown prior input {name!r}")


def rating_inputs(matrix: np.ndarray, feature_names: list[str], inputs: tuple[str, ...] = PRIOR_INPUTS) -> np.ndarray:
    """The prior's `inputs` of win-model rows (columns named by `feature_names`)."""
    column = {name: i for i, name in enumerate(feature_names)}
    return np.column_stack([_input(name, matrix, column) for name in inputs])


@dataclass(frozen=True)
class RatingPrior:
    coefficients: tuple[float, ...]  # one per input
    intercept: float
    inputs: tuple[str, ...] = PRIOR_INPUTS  # a version saved before an input was added keeps its own

    @classmethod
    def fit(cls, matrix: np.ndarray, outcome: np.ndarray, feature_names: list[str]) -> "RatingPrior":
        """Maximum likelihood with an L2 penalty of 1/2 on the coefficients (not the intercept), by Newton's
        method in numpy: deterministic, and no OpenMP pool of its own beside the boosters training in parallel
        (scikit-learn's solver has one, and the stat models trained beside it stopped being bit-identical)."""
        inputs = np.column_stack([rating_inputs(matrix, feature_names), np.ones(len(matrix))])
        penalty = np.diag([1.0] * len(PRIOR_INPUTS) + [0.0])
        weights = np.zeros(inputs.shape[1])
        for _ in range(100):
            p = 1.0 / (1.0 + np.exp(-(inputs @ weights)))
            gradient = inputs.T @ (p - outcome) + penalty @ weights
            hessian = (inputs * (p * (1.0 - p))[:, None]).T @ inputs + penalty
            step = np.linalg.solve(hessian, gradient)
            weights = weights - step
            if np.abs(step).max() < 1e-12:
                break
        return cls(tuple(float(w) for w in weights[:-1]), float(weights[-1]))

    def logit(self, matrix: np.ndarray, feature_names: list[str]) -> np.ndarray:
        return rating_inputs(matrix, feature_names, self.inputs) @ np.array(self.coefficients) + self.intercept

    def to_dict(self) -> dict:
        return {"inputs": list(self.inputs), "coefficients": list(self.coefficients), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, values: dict) -> "RatingPrior":
        inputs = tuple(values["inputs"])
        unknown = [name for name in inputs if name not in PRIOR_INPUTS]
        if unknown or len(inputs) != len(values["coefficients"]):
            raise ValueError(f"a rating prior over {list(inputs)}: not inputs this version computes")
        return cls(tuple(float(c) for c in values["coefficients"]), float(values["intercept"]), inputs)
