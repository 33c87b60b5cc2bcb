"""`gold.model_registry`: every trained version per model (kills, deaths, assists, cs, win), its status
and why. The promotion gate makes a candidate the champion only if its backtest is not worse than the
champion's beyond a margin; otherwise it stays a candidate with the reason recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl
from pyiceberg.catalog import Catalog

from outscaled.lakehouse.dbt_iceberg import write_iceberg
from outscaled.features.schema import STATS
from outscaled.models.served_metrics import window_scores

TABLE = "gold.model_registry"
MODELS = (*STATS, "win")
LOG_LOSS_MARGIN = 0.005  # relative: a candidate may be at most 0.5% worse in log-loss
ECE_MARGIN = 0.01  # absolute
COLUMNS = {"version": pl.String, "model": pl.String, "status": pl.String, "created_at": pl.Datetime("us"),
           "promoted_at": pl.Datetime("us"), "train_end": pl.Datetime("us"), "rows": pl.Int64,
           "feature_schema_hash": pl.String, "data_snapshot": pl.String, "metrics": pl.String, "reason": pl.String}


@dataclass(frozen=True)
class GateDecision:
    model: str
    promoted: bool
    reason: str


def read_registry(catalog: Catalog) -> pl.DataFrame:
    if not catalog.table_exists(TABLE):
        return pl.DataFrame(schema=COLUMNS)
    return pl.from_arrow(catalog.load_table(TABLE).scan().to_arrow()).cast(COLUMNS)


def _write(catalog: Catalog, registry: pl.DataFrame) -> None:
    write_iceberg(catalog, TABLE, registry.select(list(COLUMNS)).sort(["created_at", "model"]).to_arrow())


def champions(registry: pl.DataFrame) -> dict[str, str]:
    current = registry.filter(pl.col("status") == "champion")
    return dict(zip(current["model"].to_list(), current["version"].to_list()))


def gate(candidate: dict, champion: dict | None, model: str) -> GateDecision:
    """`candidate`/`champion`: the model's backtest metrics ({"model": {"log_loss": …, "ece": …}}, and under
    "served" the per-month sums of the served mode: outscaled.models.served_metrics). With both served
    summaries the two are compared on the months both backtests scored; a win model is also refused when
    it is worse than Elo alone on its own backtest's games."""
    served = candidate.get("served")
    if model == "win" and served and served.get("elo_months"):
        months = sorted(served["months"])
        own, elo = window_scores(served["months"], months), window_scores(served["elo_months"], months)
        if own.get("n") and own["log_loss"] > elo["log_loss"]:
            return GateDecision(model, False, f"log_loss {own['log_loss']:.4f} worse than Elo alone "
                                              f"({elo['log_loss']:.4f}) on the same {own['n']} games")
    if champion is None:
        return GateDecision(model, True, "no champion yet")
    window = ""
    new, old = candidate["model"], champion["model"]
    if served and champion.get("served"):
        common = sorted(set(served["months"]) & set(champion["served"]["months"]))
        if common:
            new, old = window_scores(served["months"], common), window_scores(champion["served"]["months"], common)
            window = f" ({served['mode']}, the {len(common)} months both scored: {common[0]}..{common[-1]})"
    if new["log_loss"] > old["log_loss"] * (1 + LOG_LOSS_MARGIN):
        return GateDecision(model, False, f"log_loss {new['log_loss']:.4f} worse than champion's "
                                          f"{old['log_loss']:.4f} beyond {LOG_LOSS_MARGIN:.1%}{window}")
    if "ece" in new and "ece" in old and new["ece"] > old["ece"] + ECE_MARGIN:
        return GateDecision(model, False, f"ece {new['ece']:.4f} worse than champion's {old['ece']:.4f} "
                                          f"beyond {ECE_MARGIN}{window}")
    return GateDecision(model, True, f"log_loss {new['log_loss']:.4f} vs champion's {old['log_loss']:.4f}{window}")


def register(catalog: Catalog, version: str, metrics: dict, train_end: datetime, rows: int, schema: str,
             snapshot: dict[str, str]) -> list[GateDecision]:
    """Record a new version for every model and apply the gate per model."""
    registry = read_registry(catalog)
    current = champions(registry)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    decisions, new_rows = [], []
    for model in MODELS:
        champion_metrics = None
        if model in current:
            row = registry.filter((pl.col("version") == current[model]) & (pl.col("model") == model)).row(0, named=True)
            champion_metrics = json.loads(row["metrics"])
        decision = gate(metrics[model], champion_metrics, model) if metrics.get(model, {}).get("n") else \
            GateDecision(model, False, "no backtest predictions to judge it by")
        decisions.append(decision)
        if decision.promoted and model in current:
            registry = registry.with_columns(
                pl.when((pl.col("model") == model) & (pl.col("status") == "champion")).then(pl.lit("retired"))
                .otherwise(pl.col("status")).alias("status"))
        new_rows.append({"version": version, "model": model,
                         "status": "champion" if decision.promoted else "candidate", "created_at": now,
                         "promoted_at": now if decision.promoted else None, "train_end": train_end, "rows": rows,
                         "feature_schema_hash": schema, "data_snapshot": json.dumps(snapshot),
                         "metrics": json.dumps(metrics.get(model, {})), "reason": decision.reason})
    _write(catalog, pl.concat([registry, pl.DataFrame(new_rows, schema=COLUMNS)]))
    return decisions


def promote(catalog: Catalog, version: str, models: tuple[str, ...] = MODELS) -> None:
    registry = read_registry(catalog)
    if registry.filter(pl.col("version") == version).is_empty():
        known = ", ".join(registry["version"].unique().sort().to_list()) or "none"
        raise ValueError(f"unknown model version {version}; known versions: {known}")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    chosen = pl.col("model").is_in(list(models))
    registry = registry.with_columns(
        pl.when(chosen & (pl.col("version") == version)).then(pl.lit("champion"))
        .when(chosen & (pl.col("status") == "champion")).then(pl.lit("retired"))
        .otherwise(pl.col("status")).alias("status"),
        pl.when(chosen & (pl.col("version") == version)).then(pl.lit(now)).otherwise(pl.col("promoted_at"))
        .alias("promoted_at"),
        pl.when(chosen & (pl.col("version") == version)).then(pl.lit("promoted by hand"))
        .otherwise(pl.col("reason")).alias("reason"))
    _write(catalog, registry)


def rollback(catalog: Catalog) -> dict[str, str]:
    """Make the previously promoted version champion again, per model. Returns model -> version now serving."""
    registry = read_registry(catalog)
    restored: dict[str, str] = {}
    for model in MODELS:
        promoted = registry.filter((pl.col("model") == model) & pl.col("promoted_at").is_not_null()
                                   ).sort("promoted_at", descending=True)
        if promoted.height < 2:
            continue
        current, previous = promoted["version"][0], promoted["version"][1]
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        mine = pl.col("model") == model
        registry = registry.with_columns(
            pl.when(mine & (pl.col("version") == current)).then(pl.lit("retired"))
            .when(mine & (pl.col("version") == previous)).then(pl.lit("champion"))
            .otherwise(pl.col("status")).alias("status"),
            pl.when(mine & (pl.col("version") == previous)).then(pl.lit(now)).otherwise(pl.col("promoted_at"))
            .alias("promoted_at"),
            pl.when(mine & (pl.col("version") == current)).then(pl.lit("rolled back"))
            .otherwise(pl.col("reason")).alias("reason"))
        restored[model] = previous
    if not restored:
        raise ValueError("nothing to roll back to: no model has an earlier promoted version")
    _write(catalog, registry)
    return restored
