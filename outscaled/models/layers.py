"""Adjustment layers on the general model's per-map mean, fitted on out-of-fold residuals.

Three multiplicative layers, applied in this order (each to the mean the earlier ones already adjusted):
  patch            per (patch, position, stat): the patch's meta, known before the draft
  champion         per (champion, stat): the champion the player drafted
  player_champion  per (player, champion, stat): the player's own record on that champion
A factor is the posterior mean of a Poisson-gamma model: the games of a key have y ~ Poisson(f * m) with
f ~ Gamma(a, a), a = prior_games * (the key's mean adjusted prediction per game), so
    f = (a + sum y) / (a + sum m)
over the key's out-of-fold games that started before the series: 1 without evidence, tending to
sum y / sum m as evidence grows. `prior_games` per layer and stat is chosen by the out-of-fold NB
likelihood of earlier months only (infinite = the layer is off for that stat). A key with fewer than
`min_games` earlier games keeps factor 1 ("too few games").

Modes: "meta" (the patch layer: served when no champion is given) and "post_draft" (all three).
Each mode has its own isotonic calibration, fitted like the general model's on out-of-fold rows only.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression

from outscaled.models.estimators import apply_calibrator, calibrator_from_json, calibrator_to_json, fit_calibrator
from outscaled.models.scoring import nb_p_over


@dataclass(frozen=True)
class Layer:
    name: str
    keys: tuple[str, ...]
    min_games: int


LAYERS = (Layer("patch", ("patch", "position"), 20), Layer("champion", ("champion_key",), 20),
          Layer("player_champion", ("player_key", "champion_key"), 5))
MODES = {"meta": ("patch",), "post_draft": ("patch", "champion", "player_champion")}
# Tried in this order; ties keep the earlier (more shrinkage), so without evidence a layer stays off.
PRIOR_GAMES = (math.inf, 1000.0, 500.0, 200.0, 100.0, 50.0, 20.0, 10.0, 5.0, 2.0)


def normalise_champion(name: str) -> str:
    return name.strip().lower()


_CHAMPION_KEY = pl.col("champion").str.strip_chars().str.to_lowercase().alias("champion_key")  # the same, per column


def shrunk_factor(games: np.ndarray, actual: np.ndarray, predicted: np.ndarray, prior_games: float,
                  min_games: int) -> np.ndarray:
    """(a + sum y) / (a + sum m), a = prior_games * sum m / games; 1 below min_games or with an infinite prior."""
    games, actual, predicted = (np.asarray(v, dtype=float) for v in (games, actual, predicted))
    if not math.isfinite(prior_games):
        return np.ones_like(games)
    with np.errstate(divide="ignore", invalid="ignore"):
        prior = prior_games * predicted / games
        factor = (prior + actual) / (prior + predicted)
    return np.where((games >= min_games) & (predicted > 0), factor, 1.0)


def _log_likelihood(y: np.ndarray, mean: np.ndarray, size: np.ndarray) -> np.ndarray:
    """NB log-likelihood per row, up to the terms that do not depend on the mean."""
    mean = np.clip(mean, 1e-6, None)
    poisson = y * np.log(mean) - mean
    # An infinite size (a Poisson month) gives inf/inf and log(0) here; those rows take the Poisson term below.
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        nb = size * np.log(size / (size + mean)) + y * np.log(mean / (size + mean))
    return np.where(np.isfinite(size), nb, poisson)


def point_in_time_sums(rows: pl.DataFrame, keys: tuple[str, ...], base: str) -> pl.DataFrame:
    """Per row of `rows` (in order): games, sum of targets and sum of `base` over the rows with the same
    keys and stat whose game started strictly before this row's series started."""
    by = [*keys, "stat"]
    history = (rows.drop_nulls(list(keys))
               .group_by([*by, "game_start"]).agg(pl.len().alias("g"), pl.col("target").sum().alias("y"),
                                                   pl.col(base).sum().alias("b"))
               .sort("game_start")
               .with_columns(pl.col("g").cum_sum().over(by).alias("games"),
                             pl.col("y").cum_sum().over(by).alias("actual"),
                             pl.col("b").cum_sum().over(by).alias("predicted"))
               .select(*by, "game_start", "games", "actual", "predicted"))
    queries = rows.select(*by, "series_start").with_row_index("_i").sort("series_start")
    joined = queries.join_asof(history, left_on="series_start", right_on="game_start", by=by,
                               strategy="backward", allow_exact_matches=False,
                               check_sortedness=False)  # both sides are sorted on the whole column
    return joined.sort("_i").select(pl.col("games").fill_null(0).cast(pl.Float64),
                                    pl.col("actual").fill_null(0.0), pl.col("predicted").fill_null(0.0))


def choose_prior(frame: pl.DataFrame, layer: Layer, base: str, cutoffs: list[datetime]) -> list[float]:
    """Per cutoff: the prior (in games) with the best out-of-fold likelihood on rows whose series started
    before the cutoff (rows of one stat, carrying point-in-time sums `{layer}_games/_actual/_predicted`)."""
    ordered = frame.sort("series_start")
    y, mean, size = (ordered[c].to_numpy().astype(float) for c in ("target", base, "nb_size"))
    sums = [ordered[f"{layer.name}_{c}"].to_numpy() for c in ("games", "actual", "predicted")]
    cumulative = np.vstack([np.concatenate([[0.0], np.cumsum(_log_likelihood(
        y, mean * shrunk_factor(*sums, prior, layer.min_games), size))]) for prior in PRIOR_GAMES])
    ends = np.searchsorted(ordered["series_start"].to_numpy(), np.array(cutoffs, dtype="datetime64[us]"), "left")
    return [PRIOR_GAMES[int(np.argmax(cumulative[:, end]))] for end in ends]


def with_layers(oof: pl.DataFrame) -> pl.DataFrame:
    """The walk-forward layers on out-of-fold rows (one row per player, game and stat, from the backtest):
    every row's factors come from earlier games' rows and priors chosen on earlier months only. Adds
    `<layer>_factor`, `<layer>_games`, `expected_<mode>`, `p_over_raw_<mode>` and `p_over_<mode>`."""
    frame = oof.with_columns(
        _CHAMPION_KEY,
        pl.col("expected").alias("_base"), pl.col("month").str.strptime(pl.Datetime("us"), "%Y-%m").alias("_month"))
    months = frame["_month"].unique().sort().to_list()
    for layer in LAYERS:
        sums = point_in_time_sums(frame, layer.keys, "_base")
        frame = frame.with_columns(*[sums[c].alias(f"{layer.name}_{c}") for c in ("games", "actual", "predicted")])
        parts = []
        for stat, rows in frame.group_by("stat", maintain_order=True):
            priors = dict(zip(months, choose_prior(rows, layer, "_base", months)))
            prior = rows["_month"].replace_strict(priors, return_dtype=pl.Float64).to_numpy()
            games, actual, predicted = (rows[f"{layer.name}_{c}"].to_numpy() for c in ("games", "actual", "predicted"))
            factor = np.ones(rows.height)
            for value in np.unique(prior):
                mine = prior == value
                factor[mine] = shrunk_factor(games[mine], actual[mine], predicted[mine], value, layer.min_games)
            parts.append(rows.with_columns(pl.Series(f"{layer.name}_factor", factor)))
        frame = pl.concat(parts).with_columns((pl.col("_base") * pl.col(f"{layer.name}_factor")).alias("_base"))
    for mode, names in MODES.items():
        factor = np.prod([frame[f"{n}_factor"].to_numpy() for n in names], axis=0)
        frame = frame.with_columns(pl.Series(f"expected_{mode}", frame["expected"].to_numpy() * factor))
        if "expected_average" in frame.columns:  # the same factors on the mean against an average opponent
            frame = frame.with_columns(pl.Series(f"expected_{mode}_average", frame["expected_average"].to_numpy() * factor))
        frame = frame.with_columns(pl.Series(f"p_over_raw_{mode}", _p_over(frame, f"expected_{mode}")))
        frame = frame.with_columns(pl.Series(f"p_over_{mode}", _walk_forward_calibration(frame, mode, months)))
    return frame.drop("_base", "_month")


def _p_over(rows: pl.DataFrame, mean_column: str) -> np.ndarray:
    """Raw P(over the row's line) under NB(mean, the row's month's size)."""
    out = np.empty(rows.height)
    size, mean, line = (rows[c].to_numpy().astype(float) for c in ("nb_size", mean_column, "line"))
    for value in np.unique(size):
        mine = size == value
        out[mine] = nb_p_over(mean[mine], float(value), line[mine])
    return out


def _walk_forward_calibration(frame: pl.DataFrame, mode: str, months: list[datetime]) -> np.ndarray:
    """Each month's rows calibrated by an isotonic map fitted on the same stat's rows of earlier months."""
    out = frame[f"p_over_raw_{mode}"].to_numpy().copy()
    stat, month = frame["stat"].to_numpy(), frame["_month"].to_numpy()
    raw, outcome = frame[f"p_over_raw_{mode}"].to_numpy(), frame["outcome"].to_numpy()
    for s in np.unique(stat):
        for m in months:
            earlier = (stat == s) & (month < np.datetime64(m))
            calibrator = fit_calibrator(raw[earlier], outcome[earlier])
            mine = (stat == s) & (month == np.datetime64(m))
            out[mine] = apply_calibrator(calibrator, raw[mine])
    return out


@dataclass
class Layers:
    """The fitted layers a bundle serves: priors, the evidence per key as of the training end, calibrators."""
    priors: dict[str, dict[str, float]]  # layer -> stat -> prior games (inf: off)
    tables: dict[str, pl.DataFrame]  # layer -> keys, stat, games, actual, predicted
    calibrators: dict[str, dict[str, IsotonicRegression | None]]  # mode -> stat -> calibrator
    champions: dict[str, str]  # normalised name -> name as written in the data
    _lookup: dict = field(default_factory=dict, repr=False)

    def factors(self, layer_name: str, stat: str, keys: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
        """Factor and earlier games per key (factor 1, games 0 for a key never seen)."""
        if (layer_name, stat) not in self._lookup:
            layer = next(item for item in LAYERS if item.name == layer_name)
            table = self.tables[layer_name].filter(pl.col("stat") == stat)
            factor = shrunk_factor(table["games"].to_numpy(), table["actual"].to_numpy(),
                                   table["predicted"].to_numpy(), self.priors[layer_name].get(stat, math.inf),
                                   layer.min_games)
            names = table.select(list(layer.keys)).rows()
            self._lookup[(layer_name, stat)] = dict(zip(names, zip(factor.tolist(), table["games"].to_list())))
        lookup = self._lookup[(layer_name, stat)]
        found = [lookup.get(k, (1.0, 0)) for k in keys]
        return np.array([f for f, _ in found], dtype=float), np.array([g for _, g in found], dtype=float)

    def calibrate(self, mode: str, stat: str, p_over: np.ndarray) -> np.ndarray:
        return apply_calibrator(self.calibrators[mode].get(stat), p_over)

    def to_files(self) -> dict[str, str]:
        files = {f"{name}.csv": table.write_csv() for name, table in self.tables.items()}
        files["layers.json"] = json.dumps({
            "priors": {n: {s: (v if math.isfinite(v) else "inf") for s, v in p.items()} for n, p in self.priors.items()},
            "calibrators": {m: {s: calibrator_to_json(c) for s, c in cs.items()} for m, cs in self.calibrators.items()},
            "champions": self.champions})
        return files

    @classmethod
    def from_files(cls, files: dict[str, str]) -> "Layers":
        extra = json.loads(files["layers.json"])
        schema = {"stat": pl.String, "games": pl.Float64, "actual": pl.Float64, "predicted": pl.Float64,
                  "patch": pl.String, "position": pl.String, "champion_key": pl.String, "player_key": pl.String}
        tables = {layer.name: pl.read_csv(io.StringIO(files[f"{layer.name}.csv"]), schema_overrides=schema)
                  for layer in LAYERS}
        return cls({n: {s: float(v) for s, v in p.items()} for n, p in extra["priors"].items()}, tables,
                   {m: {s: calibrator_from_json(c) for s, c in cs.items()} for m, cs in extra["calibrators"].items()},
                   extra["champions"])

    @staticmethod
    def file_names() -> list[str]:
        return [f"{layer.name}.csv" for layer in LAYERS] + ["layers.json"]


def with_served_layers(layers: Layers, scored: pl.DataFrame) -> pl.DataFrame:
    """Scored rows of one stat (`scoring.score_stat`) with each mode as the prediction service applies it:
    the served factors (evidence as of the training end; 1 for a key without it), the NB at the adjusted
    mean, the mode's calibration. Adds `expected_<mode>` and `p_over_<mode>` (scored by `stat_metrics`)."""
    if scored.is_empty():
        return scored
    stat = scored["stat"][0]
    champions = [normalise_champion(c) if c else None for c in scored["champion"].to_list()]
    keys = {"patch": list(zip(scored["patch"].to_list(), scored["position"].to_list())),
            "champion": [(c,) for c in champions],
            "player_champion": list(zip(scored["player_key"].to_list(), champions))}
    factors = {layer.name: layers.factors(layer.name, stat, keys[layer.name])[0] for layer in LAYERS}
    expected, line = scored["expected"].to_numpy(), scored["line"].to_numpy()
    columns = []
    for mode, names in MODES.items():
        mean = expected * np.prod([factors[name] for name in names], axis=0)
        raw = nb_p_over(mean, float(scored["nb_size"][0]), line)
        columns += [pl.Series(f"expected_{mode}", mean), pl.Series(f"p_over_{mode}", layers.calibrate(mode, stat, raw))]
        if "expected_average" in scored.columns:  # a request without an opponent gets the same factors
            factor = np.prod([factors[name] for name in names], axis=0)
            columns.append(pl.Series(f"expected_{mode}_average", scored["expected_average"].to_numpy() * factor))
    return scored.with_columns(columns)


def fit_layers(oof: pl.DataFrame, before: datetime) -> Layers:
    """The served layers: evidence from every out-of-fold row of games before `before` (each row's base is
    the mean the earlier layers gave it in the walk-forward), priors and calibrators chosen on those rows."""
    frame = with_layers(oof) if "player_champion_factor" not in oof.columns else oof
    frame = frame.filter(pl.col("game_start") < before).with_columns(
        _CHAMPION_KEY,
        pl.col("expected").alias("_base"))
    priors: dict[str, dict[str, float]] = {}
    tables: dict[str, pl.DataFrame] = {}
    for layer in LAYERS:
        priors[layer.name] = {stat: choose_prior(rows, layer, "_base", [before])[0]
                              for (stat,), rows in frame.group_by("stat", maintain_order=True)}
        tables[layer.name] = (frame.drop_nulls(list(layer.keys)).group_by([*layer.keys, "stat"])
                              .agg(pl.len().cast(pl.Float64).alias("games"), pl.col("target").sum().alias("actual"),
                                   pl.col("_base").sum().alias("predicted"))
                              .sort([*layer.keys, "stat"]))
        frame = frame.with_columns((pl.col("_base") * pl.col(f"{layer.name}_factor")).alias("_base"))
    calibrators = {mode: {stat: fit_calibrator(rows[f"p_over_raw_{mode}"].to_numpy(), rows["outcome"].to_numpy())
                          for (stat,), rows in frame.group_by("stat", maintain_order=True)} for mode in MODES}
    spelled = (frame.drop_nulls("champion").group_by("champion_key", "champion").len()
               .sort(["champion_key", "len", "champion"], descending=[False, True, False])
               .unique("champion_key", keep="first", maintain_order=True))
    return Layers(priors, tables, calibrators, dict(zip(spelled["champion_key"], spelled["champion"])))
