"""Settled accuracy of the served predictions: the analytics store's logged predictions against real games."""

import base64

import polars as pl
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.plots import plt
from assets.resources import LakehouseResource
from outscaled.analytics.owner import open_store
from outscaled.analytics.settle import Settlement, scored_rows, settle_logged
from outscaled.config import load_settings

SEED = 0  # the arms' posterior draws: the same data gives the same probabilities


def _table(frame: pl.DataFrame, digits: int = 4) -> str:
    if frame.is_empty():
        return "_nothing settled yet_"
    rounded = frame.with_columns(pl.col(pl.Float64).round(digits))
    lines = ["| " + " | ".join(rounded.columns) + " |", "|" + "---|" * len(rounded.columns)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rounded.iter_rows()]
    return "\n".join(lines)


def calibration_plot(settlement: Settlement):
    """Observed over rate against predicted P(over), per stat, one line per (arm, model version)."""
    rows = scored_rows(settlement.feedback)
    stats = sorted(rows["stat"].unique().to_list()) or ["none"]
    figure, axes = plt.subplots(1, len(stats), figsize=(4 * len(stats), 3.8), squeeze=False)
    for axis, stat in zip(axes[0], stats):
        for (arm, version), cell in rows.filter(pl.col("stat") == stat).group_by(["arm", "model_version"],
                                                                                  maintain_order=True):
            binned = (cell.with_columns((pl.col("p_over") * 10).floor().clip(0, 9).alias("bin"))
                      .group_by("bin").agg(pl.col("p_over").mean(), pl.col("outcome").mean(), pl.len()).sort("bin"))
            axis.plot(binned["p_over"], binned["outcome"], marker="o", label=f"{arm} {version} (n {cell.height})")
        axis.plot([0, 1], [0, 1], color="grey", linestyle="--")
        axis.set(xlabel="predicted p_over", ylabel="observed over rate", title=f"{stat}: settled calibration",
                 xlim=(0, 1), ylim=(0, 1))
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    return figure


@asset(key=AssetKey(["analytics", "prediction_feedback"]), group_name="analytics", kinds={"clickhouse", "polars"},
       deps=[AssetKey(["gold", "player_features"])],
       description="Logged predictions settled against the real games (analytics table prediction_feedback): "
                   "accuracy, log-loss and calibration by model version, arm, stat and map count, and the "
                   "posterior probability that the challenger is better.")
def prediction_feedback(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    settings = load_settings()
    with open_store(settings) as store:
        settlement = settle_logged(store, lakehouse.catalog(), seed=SEED)
    figure = calibration_plot(settlement)
    plot = settings.home / "analytics" / "plots" / "prediction_feedback_calibration.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(plot, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    image = f"![calibration](data:image/png;base64,{base64.b64encode(plot.read_bytes()).decode()})"
    statuses = (settlement.feedback.group_by("status").len().sort("status")
                if settlement.feedback.height else pl.DataFrame())
    context.log.info(f"settled {settlement.newly_settled} predictions; {settlement.waiting} wait for their games")
    return MaterializeResult(metadata={
        "newly_settled": settlement.newly_settled,
        "waiting_for_results": settlement.waiting,
        "settled_total": settlement.feedback.height,
        "by_status": MetadataValue.md(_table(statuses)),
        "metrics": MetadataValue.md(_table(settlement.metrics)),
        "arms": MetadataValue.md(_table(settlement.arms)),
        "calibration": MetadataValue.md(image),
        "calibration_png": MetadataValue.path(str(plot)),
    })

