"""Benchmark: full transform (dbt build: silver + gold + dbt tests) of all of ../shared/data.

Ingests everything into a fresh OUTSCALED_HOME (not timed), then times `dbt build` on each engine
and prints wall seconds and the dbt process's peak memory. Target: DuckDB full rebuild < 60 s.
Run: .venv/bin/python benchmarks/transform_all.py [DATA_FOLDER]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (ROOT / ".." / "shared" / "data").resolve()
DBT = str(Path(sys.executable).parent / "dbt")


def timed_dbt_build(home: str, target: str) -> tuple[float, float, int]:
    env = {**os.environ, "OUTSCALED_HOME": home, "OUTSCALED_DBT_TARGET": target}
    started = time.perf_counter()
    result = subprocess.run([DBT, "build", "--profiles-dir", str(ROOT / "transforms"), "--target", target],
                            cwd=ROOT / "transforms", env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if result.returncode != 0:
        print(result.stdout[-3000:])
    return wall, peak_mb, result.returncode


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA
    with tempfile.TemporaryDirectory(prefix="outscaled-transform-bench-") as home:
        os.environ["OUTSCALED_HOME"] = home
        from outscaled.config import load_settings
        from outscaled.ingest.pipeline import ingest_paths
        from outscaled.lakehouse.catalog import open_catalog

        settings = load_settings()
        report = ingest_paths(open_catalog(settings), settings.landing_dir, [data], "benchmark")
        print(f"data: {data} ({report.merges['player_games'].rows_written:,} player rows, "
              f"{report.merges['team_games'].rows_written:,} team rows)")
        wall, peak, code = timed_dbt_build(home, "duckdb")
        print(f"duckdb: dbt build {'ok' if code == 0 else 'FAILED'} in {wall:.1f} s wall, peak {peak:,.0f} MB "
              f"(target < 60 s: {'met' if wall < 60 and code == 0 else 'MISSED'})")
        print("spark local[2]: not measured — the Spark target is not implemented yet (see README, Status).")


if __name__ == "__main__":
    main()
