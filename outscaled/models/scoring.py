"""Score rows with a model and with the two baselines at the same lines."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats as st

from outscaled.features.elo import expected_score
from outscaled.models.estimators import StatModel, WinModel
from outscaled.features.rows import player_matrix, team_matrix
from outscaled.features.schema import one_row_per_game
from outscaled.models.metrics import probability_metrics


def nb_p_over(mean: np.ndarray, size: float, line: np.ndarray) -> np.ndarray:
    mean = np.clip(mean, 1e-6, None)
    k = np.floor(line)
    if not np.isfinite(size):
        return 1 - st.poisson.cdf(k, mean)
    return 1 - st.nbinom.cdf(k, size, size / (size + mean))


def score_stat(model: StatModel, frame: pl.DataFrame, fallback_mean: float,
               average: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per row: model and baseline predictions at the row's reference line (rows with a target and a line).
    `average`: the same rows with the league's average opponent in place of theirs (a request without an
    opponent, outscaled.features.as_of.with_average_opponent); its mean is `expected_average`."""
    stat = model.stat
    keep = (frame[f"target_{stat}"].is_not_null() & frame[f"line_{stat}"].is_not_null()
            & frame[f"line_{stat}"].is_not_nan())
    rows = frame.filter(keep)
    if rows.is_empty():
        return pl.DataFrame()
    line = rows[f"line_{stat}"].to_numpy()
    target = rows[f"target_{stat}"].to_numpy().astype(float)
    mean = model.predict_mean(player_matrix(rows))
    extra = {} if average is None else {"expected_average": model.predict_mean(player_matrix(average.filter(keep)))}
    raw = nb_p_over(mean, model.nb_size, line)
    poisson_mean = rows.select(pl.coalesce(f"{stat}_avg_10", f"position_baseline_{stat}", pl.lit(fallback_mean))
                               ).to_series().to_numpy().astype(float)
    mvp_mean = rows[f"mvp_mean_{stat}"].fill_nan(None).fill_null(fallback_mean).to_numpy().astype(float)
    mvp_std = np.maximum(rows[f"mvp_std_{stat}"].fill_nan(None).fill_null(np.sqrt(fallback_mean)).to_numpy(), 0.5)
    return pl.DataFrame({
        "game_id": rows["game_id"], "player_key": rows["player_key"], "series_start": rows["series_start"],
        "game_start": rows["game_start"], "series_id": rows["series_id"], "map_number": rows["map_number"],
        "position": rows["position"], "patch": rows["patch"], "median": rows[f"median_{stat}"],
        "champion": rows["champion"], "stat": [stat] * rows.height, "nb_size": [model.nb_size] * rows.height,
        "line": line, "target": target, "outcome": (target > line).astype(float),
        "expected": mean, "p_over_raw": raw, "p_over": model.calibrate(raw),
        "rolling_poisson_expected": poisson_mean,
        "rolling_poisson_p_over": 1 - st.poisson.cdf(np.floor(line), np.clip(poisson_mean, 1e-6, None)),
        "mvp_normal_expected": mvp_mean,
        "mvp_normal_p_over": 1 - st.norm.cdf((line - mvp_mean) / mvp_std), **extra,
    })


def score_win(model: WinModel, team_features: pl.DataFrame) -> pl.DataFrame:
    games = one_row_per_game(team_features).filter(pl.col("target_result").is_not_null())
    if games.is_empty():
        return pl.DataFrame()
    elo = [expected_score(a, b) if a is not None and b is not None else 0.5
           for a, b in zip(games["elo"].to_list(), games["opponent_elo"].to_list())]
    return pl.DataFrame({"game_id": games["game_id"], "series_start": games["series_start"],
                         "outcome": games["target_result"].cast(pl.Float64),
                         "p_win": model.predict(team_matrix(games)), "elo_p_win": elo})


def stat_metrics(scored: pl.DataFrame) -> dict:
    if scored.is_empty():
        return {"n": 0}
    y = scored["outcome"].to_numpy()
    target = scored["target"].to_numpy()
    return {
        "n": scored.height,
        "model": probability_metrics(scored["p_over"].to_numpy(), y, scored["expected"].to_numpy(), target),
        # the adjustment layers' modes (outscaled.models.layers), where the rows carry them
        "variants": {f"model_{mode}": probability_metrics(scored[f"p_over_{mode}"].to_numpy(), y,
                                                          scored[f"expected_{mode}"].to_numpy(), target)
                     for mode in _layer_modes(scored.columns)},
        "baselines": {
            "rolling_poisson": probability_metrics(scored["rolling_poisson_p_over"].to_numpy(), y,
                                                   scored["rolling_poisson_expected"].to_numpy(), target),
            "mvp_normal": probability_metrics(scored["mvp_normal_p_over"].to_numpy(), y,
                                              scored["mvp_normal_expected"].to_numpy(), target),
        },
    }


def _layer_modes(columns: list[str]) -> list[str]:
    return [c.removeprefix("p_over_") for c in columns if c.startswith("p_over_") and not c.startswith("p_over_raw")]


def win_metrics(scored: pl.DataFrame) -> dict:
    if scored.is_empty():
        return {"n": 0}
    y = scored["outcome"].to_numpy()
    model = probability_metrics(scored["p_win"].to_numpy(), y)
    elo = probability_metrics(scored["elo_p_win"].to_numpy(), y)
    model.pop("ece")
    elo.pop("ece")
    return {"n": scored.height, "model": model, "baselines": {"elo": elo}}
