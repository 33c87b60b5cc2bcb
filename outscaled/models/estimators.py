"""LightGBM estimators: a Poisson-mean model per stat with a fitted NB size, and a win-probability model.

Training is deterministic for a fixed seed, data and thread count (deterministic=True, row-wise histograms).
The thread count is part of that: LightGBM sums each thread's histograms, so another count can move a leaf
value in its 13th digit (CI saw 2 threads against 1 do so). Every model is therefore trained on one thread,
whatever the machine; a bundle's models are trained side by side, one thread each
(outscaled.models.backtest.fit_bundle), and equal the same models trained alone (tested).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
from sklearn.isotonic import IsotonicRegression

from outscaled.models.distributions import fit_nb_size
from outscaled.models.forest import CompiledForest
from outscaled.models.rating_prior import RatingPrior
from outscaled.models.treeshap import TreeExplainer, UnsupportedTree

SEED = 20_261_125
_COMMON = {"learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 60, "feature_fraction": 0.8,
           "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "seed": SEED, "deterministic": True,
           "force_row_wise": True, "verbose": -1}
ROUNDS = 250
TRAINING_THREADS = 1  # the same on every machine: the thread count is part of what a model is (see above)


def prediction_threads(rows: int, per_row_ms: float = 0.005) -> int:
    """One thread when the work is small (starting OpenMP threads costs more than it saves, and busy
    threads steal the CPU a server needs), LightGBM's default (0: every core) once it is worth ~1 ms.
    A mean costs ~0.005 ms per row here, a row's contributions (pred_contrib) ~0.5 ms."""
    return 1 if rows * per_row_ms < 1.0 else 0


def level_columns(feature_names: list[str], stat: str) -> tuple[int, int]:
    """Where a row holds its league/position's recent level of `stat` and, for when that is unknown, its
    all-time baseline (outscaled.features.schema.PLAYER_FEATURES)."""
    return feature_names.index(f"position_recent_{stat}"), feature_names.index(f"position_baseline_{stat}")


def recent_level(matrix: np.ndarray, columns: tuple[int, int], fallback: float) -> np.ndarray:
    """The level a stat model's trees correct, per row: the recent level of the row's league and position, else
    its all-time baseline (`columns`: level_columns), else `fallback` (the training rows' mean).

    The trees learn log(mean / level), so a league whose level moves (a new season, a new draft format) moves
    every answer with it; trees alone can only answer levels they were trained on, and drew the players of a
    season with more kills back to the old season's mean."""
    recent, baseline = columns
    level = np.where(np.isnan(matrix[:, recent]), matrix[:, baseline], matrix[:, recent])
    return np.where(level > 0, level, fallback)  # NaN compares False: unknown takes the fallback too


@dataclass
class StatModel:
    stat: str
    booster: lgb.Booster
    nb_size: float
    level_fallback: float  # the recent level of a row that has none (recent_level)
    feature_names: list[str]
    calibrator: IsotonicRegression | None = None
    _explainer: TreeExplainer | bool | None = field(default=None, init=False, repr=False, compare=False)
    compiled: CompiledForest | None = field(default=None, init=False, repr=False, compare=False)  # nvForest
    _level_columns: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._level_columns = level_columns(self.feature_names, self.stat)  # found once, not per request

    def level(self, matrix: np.ndarray) -> np.ndarray:
        """The recent level each row's mean is relative to."""
        return recent_level(matrix, self._level_columns, self.level_fallback)

    def predict_mean(self, matrix: np.ndarray) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.predict(matrix) * self.level(matrix)
        return self.booster.predict(matrix, num_threads=prediction_threads(len(matrix))) * self.level(matrix)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Per-feature contributions to the log-mean, last column the bias plus the log of the row's level:
        LightGBM's pred_contrib numbers (path-dependent TreeSHAP), from the explainer
        (outscaled/models/treeshap.py: ~0.3 ms for one row, ~0.02 ms a row in batches, against ~0.5 ms a row
        here for LightGBM's own code, which remains for a model the explainer does not handle)."""
        explainer = self.explainer()
        if explainer is None:
            contributions = self.booster.predict(matrix, pred_contrib=True,
                                                 num_threads=prediction_threads(len(matrix), per_row_ms=0.5))
        else:
            contributions = np.array(explainer.contributions(matrix), dtype=float)  # a copy of its own
        contributions[:, -1] += np.log(self.level(matrix))  # the level is the trees' starting point
        return contributions

    def explainer(self) -> TreeExplainer | None:
        """Built on first use (~0.3 s a model) and kept; None when the model cannot be tabulated."""
        if self._explainer is None:
            try:
                self._explainer = TreeExplainer(self.booster)
            except UnsupportedTree:
                self._explainer = False
        return self._explainer or None

    def explainer_ready(self) -> None:
        """Build the explainer and run both its loops once (loads or compiles them), so no request waits."""
        for rows in (1, 64):
            self.contributions(np.zeros((rows, self.booster.num_feature())))

    def calibrate(self, p_over: np.ndarray) -> np.ndarray:
        return apply_calibrator(self.calibrator, p_over)

    def to_files(self) -> dict[str, str]:
        return {"booster.txt": self.booster.model_to_string(),
                "extra.json": json.dumps({"stat": self.stat, "nb_size": self.nb_size,
                                          "calibration": calibrator_to_json(self.calibrator),
                                          "feature_names": self.feature_names,
                                          "level_fallback": self.level_fallback})}

    @classmethod
    def from_files(cls, files: dict[str, str]) -> "StatModel":
        extra = json.loads(files["extra.json"])
        return cls(extra["stat"], lgb.Booster(model_str=files["booster.txt"]), float(extra["nb_size"]),
                   float(extra["level_fallback"]), extra["feature_names"], calibrator_from_json(extra["calibration"]))


def train_stat_model(stat: str, matrix: np.ndarray, target: np.ndarray, feature_names: list[str],
                     oof_mean: np.ndarray | None = None, oof_target: np.ndarray | None = None,
                     threads: int = TRAINING_THREADS) -> StatModel:
    """Poisson-objective mean relative to the row's recent level (`recent_level`: the trees start from its log,
    LightGBM's init_score); NB size fitted on out-of-fold predictions when given (else in-sample)."""
    keep = ~np.isnan(target)
    rows, outcome = matrix[keep], target[keep]
    fallback = float(outcome.mean()) if len(outcome) else 1.0
    level = recent_level(rows, level_columns(feature_names, stat), fallback)
    data = lgb.Dataset(rows, label=outcome, feature_name=feature_names, init_score=np.log(level),
                       free_raw_data=False)
    booster = lgb.train({**_COMMON, "objective": "poisson", "num_threads": threads}, data, num_boost_round=ROUNDS)
    model = StatModel(stat, booster, 1.0, fallback, feature_names)
    if oof_mean is not None and oof_target is not None and len(oof_target) >= 500:
        model.nb_size = fit_nb_size(oof_target, oof_mean)
    else:
        model.nb_size = fit_nb_size(outcome, model.predict_mean(rows))
    return model


def apply_calibrator(calibrator: IsotonicRegression | None, p_over: np.ndarray) -> np.ndarray:
    """The isotonic map (piecewise linear between its thresholds, clipped at the ends); identity without one."""
    if calibrator is None:
        return p_over
    x, y = calibrator.X_thresholds_, calibrator.y_thresholds_
    return np.clip(np.interp(p_over, x, y), 1e-4, 1 - 1e-4)


def calibrator_to_json(calibrator: IsotonicRegression | None) -> dict | None:
    if calibrator is None:
        return None
    return {"x": calibrator.X_thresholds_.tolist(), "y": calibrator.y_thresholds_.tolist()}


def calibrator_from_json(calibration: dict | None) -> IsotonicRegression | None:
    if not calibration:
        return None
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    calibrator.fit(calibration["x"], calibration["y"])
    return calibrator


def fit_calibrator(raw_p_over: np.ndarray, outcome: np.ndarray) -> IsotonicRegression | None:
    """Isotonic map from raw to calibrated p_over, fitted on out-of-fold predictions only."""
    if len(outcome) < 500:
        return None
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
    calibrator.fit(raw_p_over, outcome)
    return calibrator


@dataclass
class WinModel:
    """P(the row's team wins the map) = sigmoid(the rating prior's logit + the booster's raw score): the trees,
    trained from the prior's logit (LightGBM's init_score), correct the ratings with the rest of the row."""
    booster: lgb.Booster
    feature_names: list[str]
    prior: RatingPrior
    compiled: CompiledForest | None = field(default=None, init=False, repr=False, compare=False)  # nvForest

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        if self.compiled is not None:  # nvForest answers sigmoid(trees): its log-odds are the raw score
            p_trees = np.clip(self.compiled.predict(matrix), 1e-300, 1.0 - 1e-16)
            raw = np.log(p_trees) - np.log1p(-p_trees)
        else:
            raw = self.booster.predict(matrix, raw_score=True, num_threads=prediction_threads(len(matrix)))
        return 1.0 / (1.0 + np.exp(-(self.prior.logit(matrix, self.feature_names) + raw)))

    def to_files(self) -> dict[str, str]:
        return {"booster.txt": self.booster.model_to_string(),
                "extra.json": json.dumps({"feature_names": self.feature_names, "prior": self.prior.to_dict()})}

    @classmethod
    def from_files(cls, files: dict[str, str]) -> "WinModel":
        extra = json.loads(files["extra.json"])
        return cls(lgb.Booster(model_str=files["booster.txt"]), extra["feature_names"],
                   RatingPrior.from_dict(extra["prior"]))


WIN_ROUNDS = 30  # the months before 2025 chose 30 rounds from the prior over 100 (outscaled.models.rating_prior)


def train_win_model(matrix: np.ndarray, target: np.ndarray, feature_names: list[str],
                    threads: int = TRAINING_THREADS) -> WinModel:
    keep = ~np.isnan(target)
    rows, outcome = matrix[keep], target[keep]
    prior = RatingPrior.fit(rows, outcome, feature_names)
    data = lgb.Dataset(rows, label=outcome, feature_name=feature_names, init_score=prior.logit(rows, feature_names),
                       free_raw_data=False)
    params = {**_COMMON, "objective": "binary", "num_leaves": 7, "min_data_in_leaf": 100, "learning_rate": 0.03,
              "num_threads": threads}
    return WinModel(lgb.train(params, data, num_boost_round=WIN_ROUNDS), feature_names, prior)
