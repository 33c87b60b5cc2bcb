"""Benchmark + backtest report on all of ../shared/data: walk-forward backtest over all history, then final
training of every model; prints wall seconds and the backtest table (overall and the last year's games).

Run: .venv/bin/python benchmarks/train_all.py [DATA_FOLDER]   (target: training all models < 5 min)
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (ROOT / ".." / "shared" / "data").resolve()


def print_table(title: str, metrics: dict) -> None:
    print(f"\n{title}")
    print(f"{'model':8} {'n':>6} {'method':16} {'log_loss':>9} {'brier':>7} {'acc':>6} {'ece':>7} {'mae':>7}")
    for model, values in metrics.items():
        if not values.get("n"):
            continue
        for method, scores in [("model", values["model"]), *values.get("variants", {}).items(),
                               *values["baselines"].items()]:
            print(f"{model:8} {values['n']:>6} {method:16} {scores['log_loss']:>9.4f} {scores['brier']:>7.4f} "
                  f"{scores['accuracy']:>6.3f} {scores.get('ece', float('nan')):>7.4f} "
                  f"{scores.get('mae', float('nan')):>7.3f}")


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA
    with tempfile.TemporaryDirectory(prefix="outscaled-train-bench-") as home:
        os.environ["OUTSCALED_HOME"] = home
        from outscaled.config import load_settings
        from outscaled.ingest.pipeline import ingest_paths
        from outscaled.lakehouse.catalog import open_catalog
        from outscaled.models.pipeline import run_backtest, train_and_register

        settings = load_settings()
        catalog = open_catalog(settings)
        ingest_paths(catalog, settings.landing_dir, [data], "benchmark")
        subprocess.run([str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", ".", "--quiet"],
                       cwd=ROOT / "transforms", env={**os.environ}, check=True)
        started = time.perf_counter()
        result = run_backtest(catalog)
        backtest_s = time.perf_counter() - started
        started = time.perf_counter()
        version, decisions, _ = train_and_register(settings, catalog, result)
        train_s = time.perf_counter() - started
        print(f"data: {data}; backtest months: {len(result.months)} ({result.months[0]} .. {result.months[-1]})")
        print(f"walk-forward backtest: {backtest_s:.1f} s; final training of all models: {train_s:.1f} s "
              f"(target < 300 s: {'met' if train_s < 300 else 'MISSED'}); peak memory "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB; version {version}")
        out = ROOT / "benchmarks" / "out"
        out.mkdir(exist_ok=True)
        result.player_predictions.write_parquet(out / "backtest_predictions.parquet")  # for a closer look
        from outscaled.models.store import load_bundle

        layers = load_bundle(settings, version).layers
        print(f"adjustment layers' priors (games; inf = off): {layers.priors if layers else 'none fitted'}")
        print_table("walk-forward backtest, all months", result.metrics())
        print_table("walk-forward backtest, games from 2025-01-01 (each month trained on everything before it)",
                    result.metrics(datetime(2025, 1, 1)))


if __name__ == "__main__":
    main()
