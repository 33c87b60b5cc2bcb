"""Benchmark + backtest report on all of ../shared/data: walk-forward backtest over all history, then final
training of every model; prints wall seconds and the backtest table (overall and the last year's games).

Run: .venv/bin/python benchmarks/train_all.py [DATA_FOLDER] [--home DIR] [--from YYYY-MM]
(target: training all models < 5 min). `--home` keeps the ingested and built home (reused when it exists);
`--from` starts the walk-forward at that month (earlier months only train). It also prints the map-range
table of the served modes on the last season's games and the season-boundary backtest (train <= 2024,
score 2025 H1).
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


def print_ranges(title: str, table) -> None:
    import polars as pl

    print(f"\n{title}")
    # floor: the ECE of a perfectly calibrated forecaster on as many independent rows; game_r and floor_g: the
    # rows' within-game correlation and the floor with it (outscaled.models.ranges.ece_floor)
    print(f"{'stat':8} {'maps':5} {'mode':11} {'opponent':8} {'n':>6} {'log_loss':>9} {'ece':>7} {'floor':>6} "
          f"{'game_r':>6} {'floor_g':>7} {'over':>6} {'mean_p':>7} {'poisson':>8} {'gain':>7}")
    for r in table.filter(pl.col("mode") != "model").iter_rows(named=True):
        print(f"{r['stat']:8} {r['range']:5} {r['mode']:11} {r['opponent']:8} {r['n']:>6} {r['log_loss']:>9.4f} "
              f"{r['ece']:>7.4f} {r['ece_floor']:>6.4f} {r['game_correlation']:>6.3f} {r['ece_floor_games']:>7.4f} "
              f"{r['over_rate']:>6.3f} {r['mean_p_over']:>7.3f} {r['poisson_log_loss']:>8.4f} {r['gain_vs_poisson']:>7.1%}")


def main() -> None:
    args = sys.argv[1:]
    option = {name: args[args.index(name) + 1] for name in ("--home", "--from") if name in args}
    positional = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] not in option)]
    data = Path(positional[0]) if positional else DEFAULT_DATA
    scratch = tempfile.TemporaryDirectory(prefix="outscaled-train-bench-")
    home = option.get("--home", scratch.name)
    with scratch:
        fresh = not (Path(home) / "catalog.db").exists()
        os.environ["OUTSCALED_HOME"] = home
        from outscaled.config import load_settings
        from outscaled.ingest.pipeline import ingest_paths
        from outscaled.lakehouse.catalog import open_catalog
        from outscaled.models.pipeline import average_opponent_frame, load_frames, range_metrics_rows, run_backtest, \
            train_and_register
        from outscaled.models.ranges import range_metrics
        from outscaled.models.season_boundary import season_boundary_ranges
        from settled_level import recalibrated  # benchmarks/settled_level.py, beside this script

        settings = load_settings()
        catalog = open_catalog(settings)
        if fresh:
            ingest_paths(catalog, settings.landing_dir, [data], "benchmark")
            subprocess.run([str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", ".", "--quiet"],
                           cwd=ROOT / "transforms", env={**os.environ}, check=True)
        first = datetime.strptime(option["--from"], "%Y-%m") if "--from" in option else None
        started = time.perf_counter()
        result = run_backtest(catalog, first, progress=lambda line: print(line, flush=True))
        backtest_s = time.perf_counter() - started
        started = time.perf_counter()
        version, decisions, _ = train_and_register(settings, catalog, result)
        train_s = time.perf_counter() - started
        print(f"home: {home} ({'ingested ' + str(data) if fresh else 'reused'}); backtest months: {len(result.months)} ({result.months[0]} .. {result.months[-1]})")
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
        import polars as pl

        ranges = range_metrics_rows(result)
        print(f"range calibration window: {result.calibration_window or 'all'} months (chosen on months before 2025)")
        print_ranges("map ranges as served, games from 2025-01-01 (walk-forward; gain = log-loss below rolling Poisson)",
                     ranges.filter(pl.col("scope") == "since 2025-01").drop("scope"))
        started = time.perf_counter()
        players, teams = load_frames(catalog)
        bundle, boundary = season_boundary_ranges(players, teams, average_opponent_frame(catalog, players),
                                                  result.player_predictions, datetime(2025, 1, 1),
                                                  datetime(2025, 7, 1), result.calibration_window)
        seconds = time.perf_counter() - started
        print_ranges(f"season boundary: trained on games before 2025, frozen, scoring 2025 H1 ({seconds:.0f} s)",
                     range_metrics(boundary))
        print_ranges("season boundary, an experiment (not served): the same models, their level recalibrated weekly "
                     "on the games settled since 2025-01-01 (benchmarks/settled_level.py)",
                     range_metrics(recalibrated(bundle, boundary)))


if __name__ == "__main__":
    main()
