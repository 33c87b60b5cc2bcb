"""Benchmark: ingest all of ../shared/data into a fresh OUTSCALED_HOME; print rows/s, wall s, peak memory.

Run: .venv/bin/python benchmarks/ingest_all.py [DATA_FOLDER]   (target on 2 cores: < 30 s, < 2 GB)
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA.resolve()
    with tempfile.TemporaryDirectory(prefix="outscaled-bench-") as home:
        os.environ["OUTSCALED_HOME"] = home
        started = time.perf_counter()
        from outscaled.config import load_settings
        from outscaled.ingest.pipeline import ingest_paths
        from outscaled.lakehouse.catalog import open_catalog

        settings = load_settings()
        report = ingest_paths(open_catalog(settings), settings.landing_dir, [data], "benchmark")
        wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    written = sum(m.rows_written for m in report.merges.values())
    print(f"data: {data}")
    print(f"files ingested: {len(report.files_ingested)}  rows read: {report.rows_read:,}  "
          f"rows written: {written:,}  quarantined: {report.quarantined_rows:,}")
    for table, merge in report.merges.items():
        print(f"  bronze.{table}: {merge.rows_written:,} rows, {merge.games_added:,} games, "
              f"{len(merge.partitions_written)} partitions")
    print(f"wall seconds (imports included): {wall:.1f}")
    print(f"rows read per second: {report.rows_read / wall:,.0f}")
    print(f"peak memory (max RSS): {peak_mb:,.0f} MB")
    print(f"targets: wall < 30 s -> {'met' if wall < 30 else 'MISSED'}; peak < 2048 MB -> "
          f"{'met' if peak_mb < 2048 else 'MISSED'}")


if __name__ == "__main__":
    main()
