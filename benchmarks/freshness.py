"""Benchmark: from a finished game published to the stream to `/predict/single` answering with it counted.

Run: .venv/bin/python benchmarks/freshness.py [--work DIR] [--day 2025-01-25] [--speed 1000] [--data DIR]
         [--prepare-only | --throughput-only [--batch N [N ...]]]

1. prepare (once per --work, reused after): a home holding every file of ../shared/data except the games of
   --day (copies of the files that hold them, with those games' rows left out: real rows, nothing invented),
   ingested, transformed, the final models trained (no backtest; the candidate promoted by hand) and a
   snapshot published. The held-out games are written as one file of their real rows.
2. freshness: the real service (`outscaled serve`) and the live consumer (`outscaled consume --follow --live`)
   on that home; the day's games are published in game-time order (`--speed` N: the real time between two
   games divided by N). For each game, the seconds from its event being published to `/predict/single`
   answering, for every player of that game, with a sample size that counts it; p50/p95/max are printed.
3. throughput (`--throughput-only`): every game of the full-layout files as events, in game-time order (as a
   live feed delivers them), into an empty home, consumed in micro-batches of at most `--batch` events (one
   fresh home per size given); events/s into bronze (seconds inside the batches: land, validate, merge,
   commit, acknowledge). The consumer creates the bronze tables when it starts, outside the batches.
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


def _copy_path(folder: Path, data: Path, path: Path) -> Path:
    """Where the copy of `path` without the held-out day goes: its path under `data`, under `folder`."""
    copy = folder / "without" / path.relative_to(data)
    copy.parent.mkdir(parents=True, exist_ok=True)
    return copy


def hold_out_day(data: Path, day: str, folder: Path) -> tuple[list[Path], Path, int]:
    """(files to ingest, the file of the held-out games, how many games): the files holding a game of `day`
    are copied without those games' rows (lines kept byte for byte), to the same path under `folder` as under
    `data`; the others are used as they are."""
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
            copy = _copy_path(folder, data, path)
            copy.write_text(lines[0] + "".join(body), encoding="utf-8")
            kept_files.append(copy)
        else:
            frame = pl.read_parquet(path)
            game = "gameid" if "gameid" in frame.columns else "game_id"
            kept = frame.filter(~pl.col(game).is_in(list(held)))
            if kept.height == frame.height:
                kept_files.append(path)
                continue
            copy = _copy_path(folder, data, path)
            kept.write_parquet(copy)
            kept_files.append(copy)
    held_file.write_text((header_of_held or "") + "".join(held_lines), encoding="utf-8")
    return kept_files, held_file, len(held)


def promote_newest(env: dict[str, str], log: Path, unless_champion: bool = False) -> str | None:
    """Promote the newest registered version (`outscaled models promote`) of the home `env` names, its output
    appended to `log`: a home trained without a backtest holds a candidate and no champion. With
    `unless_champion`, a home that has a champion is left as it is (None)."""
    def sql(query: str) -> list[dict]:
        found = subprocess.run([str(BIN / "outscaled"), "sql", "--format", "json", query], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True)
        return json.loads(found.stdout)

    if unless_champion and sql("select count(*) as n from gold.model_registry where status = 'champion'")[0]["n"]:
        return None
    version = sql("select version from gold.model_registry order by created_at desc limit 1")[0]["version"]
    with log.open("a") as out:
        out.write(f"$ outscaled models promote {version}\n")
        out.flush()
        result = subprocess.run([str(BIN / "outscaled"), "models", "promote", version], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"outscaled models promote {version} failed ({result.returncode}); see {log}")
    return version


def prepare(work: Path, data: Path, day: str, log: Path) -> tuple[Path, Path]:
    home, held_file = work / "home", work / "held_out" / f"games_{day}.csv"
    if (work / "prepared.json").exists():
        return home, held_file
    if home.exists():  # a home a freshness run has published the day into
        import shutil

        shutil.rmtree(home)
    files, held_file, games = hold_out_day(data, day, work / "held_out")
    print(f"prepare: {games} games of {day} held out; ingesting {len(files)} files", flush=True)
    seconds = {"ingest": _run([str(BIN / "outscaled"), "ingest", *map(str, files)], home, log)}
    seconds["transform"] = _run([str(BIN / "outscaled"), "materialize", "--select", "group:silver or group:gold"],
                                home, log)
    seconds["train"] = _run([str(BIN / "outscaled"), "materialize", "--select", "key:models/stat_line_models"],
                            home, log)
    version = promote_newest(_environment(home), log)
    seconds["snapshot"] = _run([str(BIN / "outscaled"), "materialize", "--select", "group:online"], home, log)
    (work / "prepared.json").write_text(json.dumps({"day": day, "games": games, "seconds": seconds,
                                                    "version": version}))
    print(f"prepare: {json.dumps(seconds)}", flush=True)
    return home, held_file


def _players_of(event: dict) -> list[str]:
    """The named players of a game (a placeholder such as "unknown player" is keyed per game: never asked)."""
    return sorted({r["player_name"] for r in event["rows"] if r.get("player_name") and r.get("position") != "team"
                   and r["player_name"].strip().lower() not in ("unknown player", "unknown")})


def _sample_size(client, base_url: str, player: str) -> int:
    """The player's games on record as `/predict/single` answers them now (0 for a player it does not know)."""
    answer = client.post(f"{base_url}/predict/single",
                         json={"player": player, "stat": "kills", "line": 2.5, "map_start": 1, "map_end": 1})
    if answer.status_code == 404:
        return 0
    answer.raise_for_status()
    return int(answer.json()["sample_size"])


def _percentiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return f"p50 {pick(0.5):.1f} s, p95 {pick(0.95):.1f} s, max {ordered[-1]:.1f} s"


def measure_freshness(work: Path, home: Path, held_file: Path, speed: float, timeout_s: float = 900.0) -> dict:
    """Publish the held-out day's games into the running platform; per game, published -> served (s)."""
    import threading

    import httpx

    os.environ.update(_environment(home))
    from outscaled.config import load_settings
    from outscaled.ingest.events import encode, game_start
    from outscaled.online.service_process import running_service
    from outscaled.stream.connect import open_stream
    from outscaled.stream.publish import file_events

    settings = load_settings()
    events = file_events(held_file)
    published: dict[str, float] = {}
    served: dict[str, float] = {}
    with running_service(settings, PORT, work / "service.log") as base_url, httpx.Client(timeout=30) as client:
        players = sorted({p for e in events for p in _players_of(e)})
        before = {p: _sample_size(client, base_url, p) for p in players}
        consumer_log = (work / "consumer.log").open("w")
        consumer = subprocess.Popen([str(BIN / "outscaled"), "consume", "--follow", "--live", "--batch", "1000"],
                                    cwd=ROOT, env=_environment(home), stdout=consumer_log, stderr=subprocess.STDOUT)
        stream = open_stream(settings)
        time.sleep(3.0)  # the consumer has joined the stream

        def publish() -> None:
            previous = None
            for event in events:
                start = game_start(event)
                if previous is not None and start is not None and start > previous:
                    time.sleep((start - previous).total_seconds() / speed)
                previous = start or previous
                published[event["game_id"]] = time.monotonic()
                stream.publish([encode({**event, "published_at": time.time()})])

        publisher = threading.Thread(target=publish, daemon=True)
        started = time.monotonic()
        publisher.start()
        games_of: dict[str, list[str]] = {}  # player -> game ids of the day, in publishing order
        for event in events:
            for player in _players_of(event):
                games_of.setdefault(player, []).append(event["game_id"])
        try:
            while len(served) < len(events) and time.monotonic() - started < timeout_s:
                for event in events:
                    game = event["game_id"]
                    if game in served or game not in published:
                        continue
                    if all(_sample_size(client, base_url, p) >= before[p] + games_of[p].index(game) + 1
                           for p in _players_of(event)):
                        served[game] = time.monotonic()
                time.sleep(0.2)
        finally:
            consumer.send_signal(signal.SIGTERM)
            consumer.wait(60)
            consumer_log.close()
            stream.close()
    seconds = [served[g] - published[g] for g in served]
    return {"games": len(events), "served": len(served), "seconds": seconds,
            "publish_span_s": (max(published.values()) - min(published.values())) if published else 0.0}


def measure_throughput(work: Path, data: Path, batch: int) -> dict:
    """Every game of the full-layout files of `data` as events into an empty home's bronze: events/s."""
    home = work / f"throughput-home-{batch}"
    if home.exists():
        import shutil

        shutil.rmtree(home)
    env = _environment(home)
    os.environ.update(env)
    from outscaled.config import load_settings
    from outscaled.stream.connect import open_stream
    from outscaled.stream.consumer import consume
    from outscaled.stream.publish import file_events, publish_events

    settings = load_settings()
    stream = open_stream(settings)
    events = []
    for path in sorted((data / "oracles_elixir").glob("*.csv")):
        try:
            events += file_events(path)
        except Exception as error:  # noqa: BLE001  (a file that needs a date order is left out, and said so)
            print(f"throughput: {path.name} left out ({str(error)[:80]})", flush=True)
    events.sort(key=lambda e: (e["game_start"] or "", e["game_id"]))  # one feed, in game-time order
    report = publish_events(stream, events)
    started = time.perf_counter()
    totals = consume(settings, idle_s=2.0, batch_events=batch, stream=stream)
    wall = time.perf_counter() - started - 2.0  # the idle wait at the end is not consuming
    from outscaled.online.redis_server import stop_embedded

    stop_embedded(settings)
    busy = sum(b.seconds for b in totals.batches)
    return {"batch": batch, "events": totals.events, "games_added": totals.games_added, "publish_s": report.seconds,
            "consume_s": wall, "batches_s": busy, "events_per_s": totals.events / busy if busy else 0.0,
            "per_batch": [(b.events, round(b.seconds, 2)) for b in totals.batches]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "outscaled-freshness")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--day", default="2025-01-25")
    parser.add_argument("--speed", type=float, default=1000.0)
    parser.add_argument("--batch", type=int, nargs="+", default=[5000, 1000],
                        help="most events per micro-batch for the throughput runs (one run per size)")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--throughput-only", action="store_true",
                        help="only the throughput run (all full-layout games as events into an empty home)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "freshness.log"
    if args.throughput_only:
        for batch in args.batch:
            _print_throughput(measure_throughput(args.work, args.data, batch))
        return
    home, held_file = prepare(args.work, args.data, args.day, log)
    if args.prepare_only:
        return
    fresh = measure_freshness(args.work, home, held_file, args.speed)
    print(f"freshness ({args.day}, {fresh['games']} games published over {fresh['publish_span_s']:.0f} s at "
          f"speed {args.speed:g}): {fresh['served']} served; published -> /predict/single counts it: "
          f"{_percentiles(fresh['seconds'])}", flush=True)
    print("per game (s): " + " ".join(f"{s:.1f}" for s in fresh["seconds"]), flush=True)
    # the prepared home now holds the day: prepare again for the next run
    (args.work / "prepared.json").unlink()


def _print_throughput(result: dict) -> None:
    print(f"throughput (batches of at most {result['batch']}): {result['events']} events ({result['games_added']} "
          f"new games) into an empty bronze in {result['batches_s']:.1f} s of batches ({result['consume_s']:.1f} s "
          f"wall): {result['events_per_s']:.0f} events/s; published in {result['publish_s']:.1f} s; "
          f"(events, s) per batch: {result['per_batch']}", flush=True)


if __name__ == "__main__":
    main()
