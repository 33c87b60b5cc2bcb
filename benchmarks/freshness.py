"""Benchmark: from a finished game published to the stream to `/predict/single` answering with it counted.

Run: .venv/bin/python benchmarks/freshness.py [--work DIR] [--day 2025-01-25] [--speed 1000] [--data DIR]
         [--throughput-games N]

1. prepare (once per --work, reused after): a home holding every file of ../shared/data except the games of
   --day (copies of the files that hold them, with those games' rows left out: real rows, nothing invented),
   ingested, transformed, the final models trained (no backtest; the candidate promoted by hand) and a
   snapshot published. The held-out games are written as one file of their real rows.
2. freshness: the real service (`outscaled serve`) and the live consumer (`outscaled consume --follow --live`)
   on that home; the day's games are published in game-time order (`--speed` N: the real time between two
   games divided by N). For each game, the seconds from its event being published to `/predict/single`
   answering, for every player of that game, with a sample size that counts it; p50/p95/max are printed.
3. throughput: `--throughput-games` real games (already in bronze: re-publishing is de-duplicated, so the
   count of games is unchanged) published at once and consumed by `outscaled consume`; events/s into bronze.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_DATA = (ROOT / ".." / "shared" / "data").resolve()
PORT = 3917


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSCALED_") and k not in ("REDIS_URL",)}
    env.update({"OUTSCALED_HOME": str(home), "OUTSCALED_AUTH": "off", "PYTHONUNBUFFERED": "1"})
    return env


def _run(argv: list[str], home: Path, log: Path) -> float:
    started = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        result = subprocess.run(argv, cwd=ROOT, env=_environment(home), stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}); see {log}")
    return time.perf_counter() - started


def _game_column(header: list[str]) -> int:
    for name in ("gameid", "game_id"):
        if name in header:
            return header.index(name)
    raise ValueError(f"no game id column in {header[:5]}")


def _csv_game_ids_of_day(path: Path, day: str) -> set[str]:
    frame = pl.read_csv(path, infer_schema_length=0)
    game = "gameid" if "gameid" in frame.columns else "game_id"

    dates = frame["date"].str.slice(0, 10)
    return set(frame.filter(dates == day)[game].unique().to_list())


def hold_out_day(data: Path, day: str, folder: Path) -> tuple[list[Path], Path, int]:
    """(files to ingest, the file of the held-out games, how many games): the files holding a game of `day`
    are copied without those games' rows (lines kept byte for byte); the others are used as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    held: set[str] = set()
    sources = sorted(p for p in data.rglob("*") if p.suffix in (".csv", ".parquet"))
    for path in sources:  # the day's games of the ISO-dated full-layout files
        if path.suffix == ".csv" and "oracles_elixir" == path.parent.name:
            try:
                held |= _csv_game_ids_of_day(path, day)
            except Exception:  # noqa: BLE001  (a file whose dates are not ISO holds no game of an ISO day)
                continue
    if not held:
        raise SystemExit(f"no game on {day} in the full-layout files of {data}")
    kept_files: list[Path] = []
    held_file = folder / f"games_{day}.csv"
    held_lines: list[str] = []
    header_of_held = None
    for path in sources:
        if path.suffix == ".csv":
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            column = _game_column([c.strip().lstrip("\ufeff") for c in lines[0].rstrip("\r\n").split(",")])
            body = [line for line in lines[1:] if line.split(",", column + 1)[column] not in held]
            if len(body) == len(lines) - 1:
                kept_files.append(path)
                continue
            if path.parent.name == "oracles_elixir" and header_of_held in (None, lines[0]):
                header_of_held = lines[0]
                held_lines += [line for line in lines[1:] if line.split(",", column + 1)[column] in held]
            copy = folder / f"{path.stem}_without_{day}.csv"
            copy.write_text(lines[0] + "".join(body), encoding="utf-8")
            kept_files.append(copy)
        else:
            frame = pl.read_parquet(path)
            game = "gameid" if "gameid" in frame.columns else "game_id"
            kept = frame.filter(~pl.col(game).is_in(list(held)))
            if kept.height == frame.height:
                kept_files.append(path)
                continue
            copy = folder / f"{path.stem}_without_{day}.parquet"
            kept.write_parquet(copy)
            kept_files.append(copy)
    held_file.write_text((header_of_held or "") + "".join(held_lines), encoding="utf-8")
    return kept_files, held_file, len(held)


def prepare(work: Path, data: Path, day: str, log: Path) -> tuple[Path, Path]:
    home, held_file = work / "home", work / "held_out" / f"games_{day}.csv"
    if (work / "prepared.json").exists():
        return home, held_file
    files, held_file, games = hold_out_day(data, day, work / "held_out")
    print(f"prepare: {games} games of {day} held out; ingesting {len(files)} files", flush=True)
    seconds = {"ingest": _run([str(BIN / "outscaled"), "ingest", *map(str, files)], home, log)}
    seconds["transform"] = _run([str(BIN / "outscaled"), "materialize", "--select", "group:silver or group:gold"],
                                home, log)
    seconds["train"] = _run([str(BIN / "outscaled"), "materialize", "--select", "key:models/stat_line_models"],
                            home, log)
    registry = subprocess.run([str(BIN / "outscaled"), "sql", "--format", "json",
                               "select version from gold.model_registry order by created_at desc limit 1"],
                              cwd=ROOT, env=_environment(home), capture_output=True, text=True, check=True)
    version = json.loads(registry.stdout)[0]["version"]
    _run([str(BIN / "outscaled"), "models", "promote", version], home, log)
    seconds["snapshot"] = _run([str(BIN / "outscaled"), "materialize", "--select", "group:online"], home, log)
    (work / "prepared.json").write_text(json.dumps({"day": day, "games": games, "seconds": seconds,
                                                    "version": version}))
    print(f"prepare: {json.dumps(seconds)}", flush=True)
    return home, held_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "outscaled-freshness")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--day", default="2025-01-25")
    parser.add_argument("--speed", type=float, default=1000.0)
    parser.add_argument("--throughput-games", type=int, default=5000)
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "freshness.log"
    home, held_file = prepare(args.work, args.data, args.day, log)
    if args.prepare_only:
        return


if __name__ == "__main__":
    main()
