"""Models: walk-forward backtest, then final training, BentoML registration and the promotion gate."""

import polars as pl
from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset

from assets.plots import calibration_curve, feature_importance, metric_by_month
from assets.resources import LakehouseResource
from outscaled.config import load_settings
from outscaled.features.schema import PLAYER_FEATURES
from outscaled.models.pipeline import run_backtest, stored_backtest, train_and_register


class BacktestConfig(Config):
    """`first_month` (YYYY-MM) limits the walk-forward to later months; empty means all history."""

    first_month: str = ""


# On Kubernetes (infra/, dagster-k8s's K8sRunLauncher) training gets a bigger pod than the other steps.
TRAINING_POD = {"dagster-k8s/config": {"container_config": {"resources": {
    "requests": {"cpu": "4", "memory": "12Gi"}, "limits": {"cpu": "8", "memory": "16Gi"}}}}}


@asset(key=AssetKey(["models", "backtest"]), group_name="models", kinds={"lightgbm", "iceberg"}, op_tags=TRAINING_POD,
       deps=[AssetKey(["gold", "player_features"]), AssetKey(["gold", "team_features"])],
       description="Expanding-window monthly backtest: model vs rolling-Poisson and MVP-normal baselines; "
                   "win model vs Elo. Writes gold.backtest_predictions and gold.backtest_metrics.")
def backtest(context: AssetExecutionContext, config: BacktestConfig, lakehouse: LakehouseResource) -> MaterializeResult:
    from datetime import datetime

    catalog = lakehouse.catalog()
    first = datetime.strptime(config.first_month, "%Y-%m") if config.first_month else None
    result = run_backtest(catalog, first, progress=context.log.info)
    metrics = pl.from_arrow(catalog.load_table("gold.backtest_metrics").scan().to_arrow())
    overall = metrics.filter(pl.col("scope") == "overall").select("model", "method", "n", "log_loss", "brier",
                                                                   "accuracy", "ece", "mae")
    return MaterializeResult(metadata={
        "months": len(result.months),
        "predictions": result.player_predictions.height,
        "metrics_overall": MetadataValue.md(_table(overall)),
        **({"map_ranges_served": MetadataValue.md(_table(_served_ranges(catalog)))}
           if catalog.table_exists("gold.backtest_range_metrics") else {}),
        "range_calibration_window_months": str(result.calibration_window or "all"),
        **({"calibration_kills": MetadataValue.md(calibration_curve(result.player_predictions, "kills")),
            "calibration_assists": MetadataValue.md(calibration_curve(result.player_predictions, "assists")),
            "log_loss_by_month": MetadataValue.md(metric_by_month(metrics))}
           if not result.player_predictions.is_empty() else
           {"note": "not enough history for a walk-forward month (needs 2,000 earlier player rows)"}),
    })


@asset(key=AssetKey(["models", "stat_line_models"]), group_name="models", kinds={"lightgbm", "bentoml"},
       op_tags=TRAINING_POD,
       deps=[AssetKey(["models", "backtest"])],
       description="Final models on all data, saved as a BentoML model version, listed in gold.model_registry; "
                   "the promotion gate decides champion or candidate per model.")
def stat_line_models(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    catalog = lakehouse.catalog()
    version, decisions, metrics = train_and_register(load_settings(), catalog, stored_backtest(catalog))
    from outscaled.models.store import load_bundle

    bundle = load_bundle(load_settings(), version)
    gains = bundle.stats["kills"].booster.feature_importance("gain")
    return MaterializeResult(metadata={
        "version": version,
        "decisions": MetadataValue.json({d.model: {"promoted": d.promoted, "reason": d.reason} for d in decisions}),
        "nb_size": MetadataValue.json({s: round(m.nb_size, 3) for s, m in bundle.stats.items()}),
        "feature_importance_kills": MetadataValue.md(feature_importance(PLAYER_FEATURES, gains, "kills model")),
    })


def _served_ranges(catalog) -> pl.DataFrame:
    """The pre-draft served mode per stat, range and opponent, over the backtest's last year."""
    ranges = pl.from_arrow(catalog.load_table("gold.backtest_range_metrics").scan().to_arrow())
    last = ranges.filter(pl.col("scope") != "overall")
    return (last if not last.is_empty() else ranges).filter(pl.col("mode") == "meta").select(
        "scope", "stat", "range", "opponent", "n", "log_loss", "ece", "over_rate", "mean_p_over", "gain_vs_poisson")


def _table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * frame.width + "\n"
    rows = ["| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + " |"
            for row in frame.iter_rows()]
    return header + "\n".join(rows)
