"""Benchmark: full transform (dbt build: silver + gold + dbt tests) of all of ../shared/data, DuckDB and Spark.

Ingests everything into a fresh OUTSCALED_HOME (not timed), then times `dbt build` on DuckDB and then on
Spark local[2] (dbt-spark session mode: the time includes starting Spark and resolving the cached Iceberg
jars) over the same bronze tables. Peak memory is the largest sum of resident memory over the dbt process
and its children (Spark's JVM), sampled every 0.1 s. Target: DuckDB full rebuild < 60 s.
Run: .venv/bin/python benchmarks/transform_all.py [DATA_FOLDER]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (ROOT / ".." / "shared" / "data").resolve()
DBT = str(Path(sys.executable).parent / "dbt")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def _tree_rss_mb(root: int) -> float:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MB
        except (OSError, IndexError, ValueError):
            pass
        pending.extend(children.get(pid, []))
    return total


def timed_dbt_build(home: str, target: str) -> tuple[float, float, int]:
    env = {**os.environ, "OUTSCALED_HOME": home, "OUTSCALED_DBT_TARGET": target}
    started = time.perf_counter()
    process = subprocess.Popen([DBT, "build", "--profiles-dir", str(ROOT / "transforms"), "--target", target],
                               cwd=ROOT / "transforms", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    peak = [0.0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss_mb(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0]
    wall = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        print(output[-3000:])
    return wall, peak[0], process.returncode


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
        results = {}
        for target, label in (("duckdb", "duckdb"), ("spark", "spark local[2]")):
            wall, peak, code = timed_dbt_build(home, target)
            results[target] = (wall, peak, code)
            target_note = f" (target < 60 s: {'met' if wall < 60 and code == 0 else 'MISSED'})" if target == "duckdb" else ""
            print(f"{label}: dbt build {'ok' if code == 0 else 'FAILED'} in {wall:.1f} s wall, "
                  f"peak {peak:,.0f} MB{target_note}")
        (duck_wall, duck_peak, _), (spark_wall, spark_peak, _) = results["duckdb"], results["spark"]
        print(f"spark / duckdb: {spark_wall / duck_wall:.1f}x wall time, {spark_peak / duck_peak:.1f}x peak memory")


if __name__ == "__main__":
    main()
