"""The win model's prior: a logistic regression on the two ratings and the side, which the trees then correct.

Chosen on the months before 2025 (benchmarks/RESULTS.md, 7 Dec 2026): LightGBM alone on the whole team row
was worse than team Elo alone there (log-loss 0.637 against 0.629), a logistic regression on the ratings was
better (0.626), and 30 boosting rounds from its logit kept that (0.626) where 100 lost it (0.629).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The prior's inputs: per 400 rating points, as in Elo's expectation (unknown roster Elo: 0 and a flag).
PRIOR_INPUTS = ("elo_diff", "roster_elo_diff", "roster_elo_unknown", "side")


def rating_inputs(matrix: np.ndarray, feature_names: list[str]) -> np.ndarray:
    """The PRIOR_INPUTS of win-model rows (columns named by `feature_names`): both rating differences / 400,
    roster Elo unknown (1/0), the side (+1 blue, -1 red, 0 unknown)."""
    column = {name: i for i, name in enumerate(feature_names)}
    elo = matrix[:, column["elo_diff"]] / 400.0
    roster = matrix[:, column["roster_elo_diff"]] / 400.0
    blue = matrix[:, column["is_blue"]]
    return np.column_stack([np.nan_to_num(elo), np.nan_to_num(roster), np.isnan(roster).astype(float),
                            np.where(np.isnan(blue), 0.0, 2.0 * blue - 1.0)])


@dataclass(frozen=True)
class RatingPrior:
    coefficients: tuple[float, ...]  # one per PRIOR_INPUTS
    intercept: float

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
        return rating_inputs(matrix, feature_names) @ np.array(self.coefficients) + self.intercept

    def to_dict(self) -> dict:
        return {"inputs": list(PRIOR_INPUTS), "coefficients": list(self.coefficients), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, values: dict) -> "RatingPrior":
        if list(values["inputs"]) != list(PRIOR_INPUTS):
            raise ValueError(f"a rating prior over {values['inputs']}, not {list(PRIOR_INPUTS)}")
        return cls(tuple(float(c) for c in values["coefficients"]), float(values["intercept"]))
