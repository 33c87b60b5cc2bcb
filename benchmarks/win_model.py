"""Win model on all of ../shared/data: walk-forward over months, the served win model against team Elo alone
and roster (player) Elo alone, on the same games (one row per game, series starting in the scored months).
Roster Elo is the served one: the lineup each team fielded in its last game before the series.

Every month is scored by a model trained on the games that started before the month, like the backtest
(outscaled.models.backtest), but for the win model only. Ingests and builds dbt (DuckDB) in a scratch home
first; --reuse skips that when the home is already built (to compare model settings quickly), --vars passes
dbt vars (e.g. '{player_elo_k_factor: 32}'), --first/--last pick the months (choose settings on months
before 2025, then report 2025).
Run: .venv/bin/python benchmarks/win_model.py [--data FOLDER] [--home /tmp/winhome] [--first 2025-01 --last 2025-12]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (ROOT / ".." / "shared" / "data").resolve()


def build(home: Path, data: Path, dbt_vars: str | None) -> None:
    from outscaled.config import load_settings
    from outscaled.ingest.pipeline import ingest_paths
    from outscaled.lakehouse.catalog import open_catalog

    settings = load_settings()
    ingest_paths(open_catalog(settings), settings.landing_dir, [data], "benchmark")
    command = [str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", ".", "--quiet"]
    subprocess.run(command + (["--vars", dbt_vars] if dbt_vars else []), cwd=ROOT / "transforms",
                   env={**os.environ, "OUTSCALED_DBT_TARGET": "duckdb"}, check=True)


def elo_p(diff: pl.Series) -> np.ndarray:
    """1 / (1 + 10^(-diff / 400)); 0.5 where a rating is missing."""
    return 1.0 / (1.0 + 10.0 ** (-diff.cast(pl.Float64).fill_null(0.0).to_numpy() / 400.0))


def walk_forward(teams: pl.DataFrame, first: datetime, last: datetime) -> pl.DataFrame:
    from outscaled.features.rows import team_matrix
    from outscaled.features.schema import TEAM_FEATURES, one_row_per_game
    from outscaled.models.estimators import train_win_model

    games = one_row_per_game(teams).filter(pl.col("target_result").is_not_null())
    scored = []
    month = first
    while month <= last:
        next_month = (month + timedelta(days=32)).replace(day=1)
        train = games.filter(pl.col("game_start") < month)
        test = games.filter((pl.col("series_start") >= month) & (pl.col("series_start") < next_month))
        if not test.is_empty():
            model = train_win_model(team_matrix(train), train["target_result"].cast(pl.Float64).to_numpy(),
                                    TEAM_FEATURES)
            scored.append(pl.DataFrame({
                "month": [f"{month:%Y-%m}"] * test.height, "outcome": test["target_result"].cast(pl.Float64),
                "served": model.predict(team_matrix(test)), "team_elo": elo_p(test["elo_diff"]),
                "roster_elo": elo_p(test["roster_elo_diff"].fill_nan(None)),
                "has_roster": test["roster_elo_diff"].is_not_null()}))
        month = next_month
    return pl.concat(scored)


def report(scored: pl.DataFrame) -> None:
    from outscaled.models.metrics import probability_metrics

    y = scored["outcome"].to_numpy()
    months = scored["month"].unique().sort()
    print(f"games: {scored.height} ({months[0]} .. {months[-1]}, {int(scored['has_roster'].sum())} with both "
          f"roster ratings)")
    print(f"{'method':12} {'log_loss':>9} {'brier':>7} {'accuracy':>9}")
    for method in ("team_elo", "roster_elo", "served"):
        scores = probability_metrics(scored[method].to_numpy(), y)
        print(f"{method:12} {scores['log_loss']:>9.4f} {scores['brier']:>7.4f} {scores['accuracy']:>9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--home", type=Path, default=Path("/tmp/winhome"))
    parser.add_argument("--reuse", action="store_true", help="the home is built already: skip ingest and dbt")
    parser.add_argument("--vars", help="dbt vars for the build, YAML")
    parser.add_argument("--first", default="2025-01")
    parser.add_argument("--last", default="2025-12")
    args = parser.parse_args()
    os.environ["OUTSCALED_HOME"] = str(args.home)
    started = time.perf_counter()
    if not args.reuse:
        shutil.rmtree(args.home, ignore_errors=True)
        build(args.home, args.data, args.vars)
        print(f"ingest + dbt build (DuckDB) of {args.data}: {time.perf_counter() - started:.0f} s")

    from outscaled.config import load_settings
    from outscaled.lakehouse.catalog import open_catalog
    from outscaled.lakehouse.tables import read_table

    teams = read_table(open_catalog(load_settings()).load_table("gold.team_features"))
    scored = walk_forward(teams, datetime.strptime(args.first, "%Y-%m"), datetime.strptime(args.last, "%Y-%m"))
    report(scored)


if __name__ == "__main__":
    main()
