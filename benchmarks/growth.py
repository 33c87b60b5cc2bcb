"""Benchmark: how each step grows with the data, at 1x, 10x, 100x of ../shared/data (re-keyed real games).

Run: .venv/bin/python benchmarks/growth.py --sizes 1,10,100
         [--steps ingest,transform-duckdb,transform-spark,backtest,train,snapshot,live-update]
         [--work DIR] [--data DIR] [--timeout 1800] [--max-rss-mb MB] [--ingest-copies K] [--live-day DAY] [--keep]

For each size N it writes N re-keyed copies of the data (benchmarks/scaled_data.py; timed and reported as
`generate`), then in a fresh OUTSCALED_HOME runs each step as a process of its own, through the platform's
own commands:
  ingest            `outscaled ingest DATA` (the bronze Dagster assets with their blocking GX checks);
                    with --ingest-copies K, one `outscaled ingest` per K copies (seconds summed, peak max)
  transform-duckdb  `dbt build --target duckdb` in transforms/ (models + dbt tests), as transform_all.py
  transform-spark   `dbt build --target spark` (Spark local[2], session mode; the time includes starting Spark)
  backtest          `outscaled materialize --select key:models/backtest` (the walk-forward over all months)
  train             `outscaled materialize --select key:models/stat_line_models` (final models, gate, registry;
                    reads the stored backtest when there is one)
  snapshot          `outscaled materialize --select group:online` (the Redis feature snapshot)
  live-update       the games of --live-day (default 2025-01-25; N times as many at N x) are held out of the
                    ingested data (benchmarks/freshness.py's hold-out, real rows); after the snapshot, untimed,
                    they are published to the home's stream with `outscaled publish` (and the newest trained
                    version promoted if the home has no champion); timed: `outscaled consume --live` lands them
                    in bronze, recomputes the touched players' and teams' state and publishes a delta snapshot.
                    Its seconds are the consumer's own (batches plus live refreshes, from its log), without the
                    idle wait that ends the run; the note gives the games and the wall time.
Before the steps, untimed, the home's dbt manifest is parsed (`import orchestration.definitions`), since every
Dagster command would otherwise pay for it once. A step whose prerequisite did not succeed is skipped.

Seconds are wall time; peak MB is the largest resident total of the step's process tree (the command, dbt,
Spark's JVM, the embedded redis-server), sampled every 0.2 s. Rows: bronze rows after ingest, silver + gold
rows after a transform, backtest predictions, the training rows (gold player + team features), the players
and teams of the snapshot. A step past --timeout is killed and reported as `timeout`; one whose tree passes
--max-rss-mb (default 80% of this machine's memory) is killed and reported as `memory`. Nothing is written
outside --work (default: a new temporary folder); each size's data and home are deleted after it unless --keep,
the step logs are kept in WORK/logs. The table's `x1` columns divide by the smallest size's figure;
`t/rows` is the time ratio over the rows ratio: above 1, the step grows worse than linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import re
import time
from dataclasses import dataclass
from pathlib import Path

from freshness import hold_out_day, promote_newest  # benchmarks/freshness.py
from outscaled.config import dbt_environment, load_settings
from outscaled.online.lifecycle import descendants

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_DATA = (ROOT / ".." / "shared" / "data").resolve()
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
SAMPLE_SECONDS = 0.2
STEPS = ["ingest", "transform-duckdb", "transform-spark", "backtest", "train", "snapshot", "live-update"]
ENGINES = {"generate": "python", "ingest": "polars+pyiceberg", "transform-duckdb": "duckdb",
           "transform-spark": "spark local[2]", "live-update": "python+redis", "backtest": "lightgbm", "train": "lightgbm",
           "snapshot": "redis"}
NEEDS = {"transform-duckdb": ("ingest",), "transform-spark": ("ingest",),
         "backtest": ("transform-duckdb", "transform-spark"), "train": ("transform-duckdb", "transform-spark"),
         "snapshot": ("transform-duckdb", "transform-spark"), "live-update": ("snapshot",)}
LIVE_DAY = "2025-01-25"
LIVE_IDLE_S = 3.0

# Untimed, in the step's home: the tables' current row counts, and the newest snapshot's players and teams.
_COUNT = """
import json, sys
from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
settings = load_settings()
catalog = open_catalog(settings)
totals = {}
for namespace in catalog.list_namespaces():
    for identifier in catalog.list_tables(namespace):
        snapshot = catalog.load_table(identifier).current_snapshot()
        totals[".".join(identifier)] = int(snapshot.summary["total-records"]) if snapshot and snapshot.summary else 0
if sys.argv[1:] == ["snapshot"]:
    from outscaled.online import snapshot
    from outscaled.online.redis_server import connect, stop_embedded
    current = [s for s in snapshot.list_snapshots(connect(settings)) if s["current"]]
    if current:
        meta = json.loads(connect(settings).get(snapshot.key(current[0]["snapshot_id"], "meta")))
        totals["snapshot.players"], totals["snapshot.teams"] = meta["players"], meta["teams"]
    stop_embedded(settings)
print(json.dumps(totals))
"""


@dataclass
class Result:
    size: int
    step: str
    status: str  # ok, failed (exit N), timeout, memory, skipped (...), not built (...)
    seconds: float | None = None
    peak_mb: float | None = None
    rows: int | None = None
    note: str = ""


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and every process below it."""
    total = 0.0
    for pid in (root, *descendants(root)):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MB
        except (OSError, IndexError, ValueError):
            pass
    return total


def _kill_tree(root: int) -> None:
    """SIGKILL the step's process and every process below it (some start sessions of their own)."""
    below = descendants(root)
    for pid in (root, *below):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_measured(argv: list[str], env: dict[str, str], cwd: Path, log: Path, timeout: float, max_rss_mb: float
                 ) -> tuple[str, float, float]:
    """Run `argv`; (status, wall seconds, peak MB of its process tree). Output goes to `log`."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        peak, stop = [0.0], ["ok"]

        def sample() -> None:
            while process.poll() is None:
                peak[0] = max(peak[0], tree_rss_mb(process.pid))
                if peak[0] > max_rss_mb:
                    stop[0] = "memory"
                elif time.perf_counter() - started > timeout:
                    stop[0] = "timeout"
                if stop[0] != "ok":
                    _kill_tree(process.pid)
                    return
                time.sleep(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        wall = time.perf_counter() - started
        sampler.join()
    status = stop[0] if stop[0] != "ok" else ("ok" if code == 0 else f"failed (exit {code})")
    return status, wall, peak[0]


def step_environment(home: Path) -> dict[str, str]:
    """This environment without any other home's settings, on `home`, with dbt's variables for it."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("OUTSCALED_") and not k.startswith("OUTSCALED_SPARK_"))
           and k not in ("REDIS_URL", "DAGSTER_HOME")}
    env["OUTSCALED_HOME"] = str(home)
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        env.update(dbt_environment(load_settings()))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return env


def _ingest_groups(files: list[Path], data: Path, held: Path, copies_per_run: int) -> list[list[Path]]:
    """The files to ingest, `copies_per_run` copies (`copy-00k` folders) to a run (0: all in one)."""
    def copy_of(path: Path) -> str:
        for root in (held / "without", data):
            if path.is_relative_to(root):
                return path.relative_to(root).parts[0]
        raise ValueError(f"{path} is under neither {data} nor {held}")

    copies = sorted({copy_of(f) for f in files})
    per_run = copies_per_run if copies_per_run > 0 else len(copies)
    runs = [set(copies[i:i + per_run]) for i in range(0, len(copies), per_run)]
    return [sorted(f for f in files if copy_of(f) in run) for run in runs]


def _commands(step: str, ingest_groups: list[list[Path]]) -> list[list[str]]:
    if step == "ingest":
        return [[str(BIN / "outscaled"), "ingest", *map(str, group)] for group in ingest_groups]
    if step.startswith("transform-"):
        target = step.removeprefix("transform-")
        return [[str(BIN / "dbt"), "build", "--profiles-dir", str(ROOT / "transforms"), "--target", target]]
    selection = {"backtest": "key:models/backtest", "train": "key:models/stat_line_models",
                 "snapshot": "group:online"}[step]
    return [[str(BIN / "outscaled"), "materialize", "--select", selection]]


def _rows(step: str, env: dict[str, str]) -> int | None:
    found = subprocess.run([sys.executable, "-c", _COUNT, *(["snapshot"] if step == "snapshot" else [])],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    if found.returncode != 0:
        return None
    totals: dict[str, int] = json.loads(found.stdout.strip().splitlines()[-1])
    if step == "ingest":
        return sum(totals.get(f"bronze.{t}", 0) for t in ("player_games", "team_games", "drafts"))
    if step.startswith("transform-"):
        return sum(n for t, n in totals.items() if t.split(".")[0] in ("silver", "gold"))
    if step == "backtest":
        return totals.get("gold.backtest_predictions")
    if step == "train":
        return totals.get("gold.player_features", 0) + totals.get("gold.team_features", 0)
    if step == "live-update":
        return None
    return totals.get("snapshot.players", 0) + totals.get("snapshot.teams", 0)


_BATCH_SECONDS = re.compile(r"batch of \d+ events: [^\n]*?, ([0-9.]+)s")
_LIVE_SECONDS = re.compile(r"live: snapshot .*?since the last build,\s*([0-9.]+)s", re.S)  # rich may wrap it


def consumer_seconds(log_text: str) -> float:
    """The seconds `outscaled consume --live` printed for its batches and live refreshes."""
    return sum(float(found.group(1)) for pattern in (_BATCH_SECONDS, _LIVE_SECONDS)
               for found in pattern.finditer(log_text))


def live_update(size: int, held_file: Path, games: int, env: dict[str, str], log: Path, timeout: float,
                max_rss_mb: float) -> Result:
    """Publish the held-out games (untimed), then time `outscaled consume --live` bringing them to serving."""
    promote_newest(env, log, unless_champion=True)
    with log.open("a") as out:
        subprocess.run([str(BIN / "outscaled"), "publish", str(held_file)], cwd=ROOT, env=env, stdout=out,
                       stderr=subprocess.STDOUT, check=True)
    started_at = log.stat().st_size
    status, wall, peak = run_measured([str(BIN / "outscaled"), "consume", "--live", "--idle", str(LIVE_IDLE_S)],
                                      env, ROOT, log, timeout, max_rss_mb)
    consumer_log = log.read_bytes()[started_at:].decode("utf-8", errors="replace")  # a byte offset
    note = f"{games:,} games; wall {wall:.1f} s with the {LIVE_IDLE_S:g} s idle wait"
    if status != "ok" or "live: snapshot" not in consumer_log:
        return Result(size, "live-update", status if status != "ok" else "failed (no live snapshot)", wall, peak,
                      note=f"log: {log}")
    return Result(size, "live-update", status, consumer_seconds(consumer_log), peak, games, note)


def run_size(size: int, steps: list[str], work: Path, source: Path, timeout: float, max_rss_mb: float,
             copies_per_run: int, keep: bool, live_day: str = LIVE_DAY) -> list[Result]:
    data, home, logs = work / f"data-{size}x", work / f"home-{size}x", work / "logs"
    held = work / f"held-{size}x"
    logs.mkdir(parents=True, exist_ok=True)
    for folder in (data, home, held):
        shutil.rmtree(folder, ignore_errors=True)
    env = step_environment(home)
    results: list[Result] = []

    def report(result: Result) -> None:
        results.append(result)
        print(_line(result), flush=True)

    status, wall, peak = run_measured(
        [sys.executable, str(ROOT / "benchmarks" / "scaled_data.py"), "--factor", str(size), "--out", str(data),
         "--data", str(source)], env, ROOT, logs / f"{size}x-generate.log", timeout, max_rss_mb)
    written = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) if data.exists() else 0
    report(Result(size, "generate", status, wall, peak, note=f"{written / 2**20:,.0f} MB written"))
    if status != "ok":
        return results
    files: list[Path] = sorted(p for p in data.rglob("*") if p.suffix in (".csv", ".parquet"))
    held_file, held_games = None, 0
    if "live-update" in steps:
        files, held_file, held_games = hold_out_day(data, live_day, held)
        print(f"{size}x: {held_games:,} games of {live_day} held out for the live update", flush=True)
    ingest_groups = _ingest_groups(files, data, held, copies_per_run)
    home.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", "import orchestration.definitions"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the dbt manifest, untimed
    done: set[str] = set()
    for step in steps:
        needs = NEEDS.get(step, ())
        if needs and not done & set(needs):
            report(Result(size, step, f"skipped (needs {' or '.join(needs)})"))
            continue
        seconds, peak, status = 0.0, 0.0, "ok"
        log = logs / f"{size}x-{step}.log"
        if step == "live-update":
            result = live_update(size, held_file, held_games, env, log, timeout, max_rss_mb)
            report(result)
            continue
        for argv in _commands(step, ingest_groups):
            status, wall, run_peak = run_measured(argv, env, ROOT / "transforms" if step.startswith("transform-")
                                                  else ROOT, log, timeout - seconds, max_rss_mb)
            seconds, peak = seconds + wall, max(peak, run_peak)
            if status != "ok":
                break
        result = Result(size, step, status, seconds, peak)
        if status == "ok":
            done.add(step)
            result.rows = _rows(step, env)
        else:
            result.note = f"log: {log}"
        report(result)
    if not keep:
        for folder in (data, home, held):
            shutil.rmtree(folder, ignore_errors=True)
    return results


def _number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def _line(r: Result) -> str:
    return (f"{r.size}x {r.step} ({ENGINES[r.step]}): {r.status}"
            + (f", {r.seconds:.1f} s, peak {r.peak_mb:,.0f} MB" if r.seconds is not None else "")
            + (f", {r.rows:,} rows" if r.rows is not None else "") + (f"; {r.note}" if r.note else ""))


def print_table(results: list[Result]) -> None:
    smallest = min(r.size for r in results)
    base = {r.step: r for r in results if r.size == smallest and r.status == "ok"}
    header = (f"{'size':>5} {'step':17} {'engine':17} {'status':22} {'seconds':>9} {'x' + str(smallest):>7} "
              f"{'peak MB':>8} {'x' + str(smallest):>6} {'rows':>12} {'x' + str(smallest):>7} {'t/rows':>6}  note")
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        b = base.get(r.step) if r.status == "ok" else None
        time_ratio = _ratio(r.seconds, b.seconds) if b else None
        rows_ratio = _ratio(r.rows, b.rows) if b else None
        peak_ratio = _ratio(r.peak_mb, b.peak_mb) if b else None
        print(f"{str(r.size) + 'x':>5} {r.step:17} {ENGINES[r.step]:17} {r.status:22} {_number(r.seconds, 1):>9} "
              f"{_number(time_ratio, 1):>7} {_number(r.peak_mb):>8} {_number(peak_ratio, 1):>6} "
              f"{_number(r.rows):>12} {_number(rows_ratio, 1):>7} {_number(_ratio(time_ratio, rows_ratio), 2):>6}  "
              f"{r.note}")


def _memory_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,100", help="comma-separated factors (default 1,10,100)")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated, in order (default {','.join(STEPS)})")
    parser.add_argument("--work", type=Path, help="folder for the data, homes and logs (default: a new temp folder)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"the real data (default {DEFAULT_DATA})")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per step (default 1800)")
    parser.add_argument("--max-rss-mb", type=float, default=0.8 * _memory_mb(),
                        help="kill a step whose process tree holds more (default 80%% of this machine's memory)")
    parser.add_argument("--ingest-copies", type=int, default=0,
                        help="copies per `outscaled ingest` run (default 0: all copies in one run)")
    parser.add_argument("--live-day", default=LIVE_DAY, help=f"the day held out for live-update (default {LIVE_DAY})")
    parser.add_argument("--keep", action="store_true", help="keep each size's data and home")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    steps = [s.strip() for s in args.steps.split(",")]
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not sizes or min(sizes) < 1:
        parser.error(f"unknown step(s) {unknown} (known: {', '.join(STEPS)})" if unknown else "sizes are 1 or more")
    work = args.work or Path(tempfile.mkdtemp(prefix="outscaled-growth-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work: {work}; data: {args.data}; sizes {sizes}; steps {steps}; timeout {args.timeout:.0f} s per step; "
          f"memory limit {args.max_rss_mb:,.0f} MB; load average {os.getloadavg()[0]:.1f}", flush=True)
    results: list[Result] = []
    for size in sizes:
        results += run_size(size, steps, work, args.data.resolve(), args.timeout, args.max_rss_mb,
                            args.ingest_copies, args.keep, args.live_day)
    print_table(results)
    print(f"load average at the end {os.getloadavg()[0]:.1f}; step logs in {work / 'logs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
