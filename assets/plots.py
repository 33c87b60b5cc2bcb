"""PNG plots for the backtest's Dagster metadata (rendered inline as Markdown images)."""

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402


def _markdown(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return f"![plot](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"


def calibration_curve(predictions: pl.DataFrame, stat: str) -> str:
    rows = predictions.filter(pl.col("stat") == stat)
    figure, axis = plt.subplots(figsize=(4.5, 4))
    for column, label in (("p_over", "model"), ("rolling_poisson_p_over", "rolling Poisson"),
                          ("mvp_normal_p_over", "MVP normal")):
        p, y = rows[column].to_numpy(), rows["outcome"].to_numpy()
        bins = np.clip((p * 10).astype(int), 0, 9)
        xs = [p[bins == b].mean() for b in range(10) if (bins == b).sum() >= 20]
        ys = [y[bins == b].mean() for b in range(10) if (bins == b).sum() >= 20]
        axis.plot(xs, ys, marker="o", label=label)
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--")
    axis.set(xlabel="predicted p_over", ylabel="observed over rate", title=f"{stat}: calibration (backtest)")
    axis.legend()
    return _markdown(figure)


def metric_by_month(metrics: pl.DataFrame, metric: str = "log_loss") -> str:
    monthly = metrics.filter(pl.col("scope").str.contains(r"^\d{4}-\d{2}$") & (pl.col("method") == "model"))
    figure, axis = plt.subplots(figsize=(7, 3.5))
    for model in monthly["model"].unique().sort().to_list():
        rows = monthly.filter(pl.col("model") == model).sort("scope")
        axis.plot(rows["scope"].to_list(), rows[metric].to_list(), marker=".", label=model)
    axis.set(ylabel=metric, title=f"{metric} by month (walk-forward)")
    axis.tick_params(axis="x", labelrotation=90, labelsize=6)
    axis.legend(fontsize=7)
    return _markdown(figure)


def feature_importance(names: list[str], gains: np.ndarray, title: str, top: int = 15) -> str:
    order = np.argsort(gains)[::-1][:top][::-1]
    figure, axis = plt.subplots(figsize=(5, 4))
    axis.barh([names[i] for i in order], gains[order])
    axis.set(title=title, xlabel="gain")
    axis.tick_params(axis="y", labelsize=7)
    return _markdown(figure)
