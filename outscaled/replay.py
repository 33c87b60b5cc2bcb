"""`outscaled replay`: what the service would have said, day by day, settled against what happened.

In a scratch home that starts from the current one (its bronze before `--from`, its model registry and model
store; nothing is written back), the real service and the live consumer run; for each day with games in the
given files, the service is asked over HTTP, before the day, for every named player of the day's series
(every served stat, at the player's rolling-median line scaled to the map range, for each map range the
series played, with the opponent and the best-of) and for every match; then the day's games are published
to the stream and the replay waits until the service counts them. At the end every answer is settled and
scored (log-loss, ECE, accuracy, coverage per stat x map count and for wins) next to the rolling-Poisson
and Elo baselines computed from the same history, with each day's freshness.

The series of a day are the games between the same two teams in one league that day; the best-of is what the
winner's map count implies (1, 2 or 3 wins: best of 1, 3 or 5), as a user would have known it beforehand.
"""

from __future__ import annotations

import math
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import poisson

from outscaled.config import PROJECT_ROOT, Settings
from outscaled.features.elo import initial_rating
from outscaled.features.live_state import continue_elo, stage_player_games, stage_team_games
from outscaled.models.lines import HISTORY as ROLLING_GAMES  # the backtest's line and Poisson baseline window
from outscaled.online.lifecycle import TREE_VARIABLE, ProcessTreeGuardian, dies_with_this_process

ECE_BINS = 10
# A stopped or killed replay ends what it started (the scratch home's `outscaled materialize` runs, the service,
# the consumer, their redis-servers): SIGTERM, then SIGKILL after this grace (outscaled.online.lifecycle).
REPLAY_GRACE_SECONDS = 5.0
PLACEHOLDERS = ("unknown", "unknown player")
Progress = Callable[[str], None]


@dataclass
class Answer:
    """One question asked before a day, and (once the day is in) what happened."""
    stat: str
    maps: int  # the range is maps 1..maps
    player: str
    line: float
    p_over: float | None  # the service's; None when it gave no answer
    p_baseline: float | None
    actual: float | None = None


@dataclass
class MatchAnswer:
    team_a: str
    team_b: str
    best_of: int
    p_a: float | None
    p_elo: float
    a_won: bool | None = None


@dataclass
class ReplayResult:
    days: list[dict[str, Any]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    matches: list[MatchAnswer] = field(default_factory=list)


# --- the scratch home -----------------------------------------------------------------------------------
def scratch_home(current: Settings, folder: Path, start: datetime, progress: Progress,
                 retrain: bool = False) -> Settings:
    """A home with the current one's bronze before `start`, its registry and model store, built (dbt) and with
    a snapshot published: where the replay's service starts. With `retrain`, final models are trained there
    on the games before `start` only and serve instead of the current champions (a fair test)."""
    from outscaled.lakehouse.catalog import open_catalog
    from outscaled.lakehouse.copy import copy_bronze
    from outscaled.lakehouse.dbt_iceberg import write_iceberg
    from outscaled.models.registry import TABLE, read_registry

    home = folder / "home"
    scratch = replace(current, home=home, catalog_uri=f"sqlite:///{home / 'catalog.db'}",
                      warehouse=(home / "warehouse").as_uri(), watch_dir=home / "inbox", redis_url=None,
                      clickhouse_url=None, keys_uri=f"sqlite:///{home / 'keys.db'}", auth=False)
    home.mkdir(parents=True)
    source, target = open_catalog(current), open_catalog(scratch)
    copied = copy_bronze(source, target, pl.col("date") < start, load_id="replay-start")
    registry = read_registry(source)
    if registry.filter(pl.col("status") == "champion").is_empty():
        raise ValueError("the current home has no champion models (train first: `outscaled materialize`)")
    write_iceberg(target, TABLE, registry.to_arrow())
    shutil.copytree(current.home / "bentoml", home / "bentoml")
    progress(f"scratch home {home}: {copied['bronze.player_games']:,} player rows before {start:%Y-%m-%d}; building")
    _outscaled(scratch, "materialize", "--select", "group:silver or group:gold")
    if retrain:
        from outscaled.models.registry import promote

        progress(f"training final models on the games before {start:%Y-%m-%d} (no backtest)")
        _outscaled(scratch, "materialize", "--select", "key:models/stat_line_models")
        trained = read_registry(target).sort("created_at")["version"][-1]
        promote(target, trained)
        progress(f"serving {trained}, trained in the scratch home")
    _outscaled(scratch, "materialize", "--select", "group:online")
    return scratch


@contextmanager
def _scratch_environment(settings: Settings) -> Iterator[None]:
    """This process's environment pointed at the scratch home while its service runs (the service's
    processes inherit it): no catalog, Redis or key store of the user's is reachable from them."""
    import os

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment_of(settings))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _warn_if_trained_on_the_replay(catalog, start: date, progress: Progress) -> None:
    from outscaled.models.registry import read_registry

    registry = read_registry(catalog).filter(pl.col("status") == "champion")
    latest = registry["train_end"].max()
    if latest is not None and latest.date() >= start:
        progress(f"warning: the champion models were trained on games up to {latest:%Y-%m-%d}, after --from "
                 f"{start}: the replay's scores flatter them (train on games before {start} for a fair test)")


def environment_of(settings: Settings) -> dict[str, str]:
    """The environment of a process on the scratch home: none of the user's OUTSCALED_* settings, Redis or
    Dagster home, but the process-tree token of the guardians this process runs under (so that what it starts
    is ended with the replay, however the replay stops)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSCALED_") and k not in ("REDIS_URL",
                                                                                                "DAGSTER_HOME")}
    if TREE_VARIABLE in os.environ:
        env[TREE_VARIABLE] = os.environ[TREE_VARIABLE]
    env.update({"OUTSCALED_HOME": str(settings.home), "OUTSCALED_AUTH": "off", "OUTSCALED_ENV":
                settings.environment.value, "OUTSCALED_CATALOG_URI": settings.catalog_uri,
                "OUTSCALED_WAREHOUSE": settings.warehouse, "OUTSCALED_KEYS_URI": settings.keys_uri})
    return env


def _outscaled(settings: Settings, *arguments: str) -> None:
    command = [str(Path(sys.executable).with_name("outscaled")), *arguments]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=environment_of(settings), capture_output=True, text=True,
                            preexec_fn=dies_with_this_process(signal.SIGTERM))
    if result.returncode != 0:
        raise RuntimeError(f"`outscaled {' '.join(arguments)}` in the scratch home failed: "
                           f"{(result.stdout + result.stderr).strip().splitlines()[-1:]}")


def start_consumer(settings: Settings, log_path: Path) -> subprocess.Popen:
    """`outscaled consume --follow --live` on the scratch home, its output into `log_path`. It stops with this
    process: a parent-death signal (SIGTERM: it finishes the batch in hand and stops a redis-server it started),
    and the process-tree token of the replay's guardians, which end it if it is still alive after their grace.
    Call it from the thread that lives as long as the consumer should (the parent-death signal is the thread's)."""
    with log_path.open("w") as log:  # the child has its own copy of the descriptor
        return subprocess.Popen([str(Path(sys.executable).with_name("outscaled")), "consume", "--follow", "--live"],
                                cwd=PROJECT_ROOT, env=environment_of(settings), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=dies_with_this_process(signal.SIGTERM))


# --- the questions of a day -------------------------------------------------------------------------------
def day_series(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The day's series: games between the same two teams in one league, in time order, with each team's
    named players, their per-map stats and the winner of each map."""
    series: dict[tuple, dict[str, Any]] = {}
    for event in events:
        teams = [r for r in event["rows"] if r.get("position") == "team"]
        players = [r for r in event["rows"] if r.get("position") not in (None, "team") and r.get("player_name")]
        names = sorted({r.get("team_name") for r in players + teams if r.get("team_name")})
        if len(names) != 2:
            continue
        league = next((r.get("league") for r in event["rows"] if r.get("league")), None)
        item = series.setdefault((league, *names), {"league": league, "teams": names, "maps": [], "wins": {}})
        winner = next((r.get("team_name") for r in players + teams if r.get("result") in (1, "1", True)), None)
        item["maps"].append({"game_id": event["game_id"], "players": players, "winner": winner})
        if winner:
            item["wins"][winner] = item["wins"].get(winner, 0) + 1
    for item in series.values():
        most = max(item["wins"].values(), default=1)
        item["best_of"] = {1: 1, 2: 3}.get(most, 5)
    return list(series.values())


def _history(players: pl.DataFrame, stat: str) -> dict[str, list[float]]:
    """Per player (by name key), the stat over the player's games in time order (staged as dbt stages them)."""
    ordered = players.drop_nulls(stat).sort(["player_key", "game_start", "game_id"])
    return {k: g[stat].to_list() for (k,), g in ordered.group_by("player_key", maintain_order=True)}


def rolling_line(history: list[float], maps: int) -> float | None:
    """The player's rolling-median line for a range of `maps` maps, as the backtest prices it
    (outscaled/models/lines.py): floor(maps x median of the last ROLLING_GAMES maps) + 0.5."""
    recent = history[-ROLLING_GAMES:]
    if not recent:
        return None
    return math.floor(float(np.median(recent)) * maps) + 0.5


def poisson_over(history: list[float], maps: int, line: float) -> float | None:
    recent = history[-ROLLING_GAMES:]
    if not recent:
        return None
    return float(poisson.sf(math.floor(line), max(float(np.mean(recent)), 1e-6) * maps))


# --- scoring ----------------------------------------------------------------------------------------------
def score(probabilities: list[float], outcomes: list[bool]) -> dict[str, float]:
    p = np.clip(np.array(probabilities, dtype=float), 1e-6, 1 - 1e-6)
    y = np.array(outcomes, dtype=float)
    if len(p) == 0:
        return {"n": 0}
    bins = np.minimum((p * ECE_BINS).astype(int), ECE_BINS - 1)
    ece = sum(abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).sum() for b in range(ECE_BINS)
              if (bins == b).any()) / len(p)
    return {"n": len(p), "log_loss": float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()),
            "ece": float(ece), "accuracy": float(((p > 0.5) == (y > 0.5)).mean())}


def summarise(result: ReplayResult) -> list[dict[str, Any]]:
    """Per stat x map count and for wins: the service's scores, the baseline's on the same settled rows,
    and the coverage (answers given / questions asked)."""
    rows = []
    keys = sorted({(a.stat, a.maps) for a in result.answers})
    for stat, maps in keys:
        asked = [a for a in result.answers if a.stat == stat and a.maps == maps and a.actual is not None]
        answered = [a for a in asked if a.p_over is not None and a.p_baseline is not None]
        outcomes = [a.actual > a.line for a in answered]
        rows.append({"what": f"{stat} maps 1-{maps}", "asked": len(asked),
                     "coverage": len([a for a in asked if a.p_over is not None]) / len(asked) if asked else 0.0,
                     "model": score([a.p_over for a in answered], outcomes),
                     "baseline": score([a.p_baseline for a in answered], outcomes), "baseline_name": "rolling Poisson"})
    settled = [m for m in result.matches if m.a_won is not None]
    answered = [m for m in settled if m.p_a is not None]
    rows.append({"what": "series winner", "asked": len(settled),
                 "coverage": len(answered) / len(settled) if settled else 0.0,
                 "model": score([m.p_a for m in answered], [m.a_won for m in answered]),
                 "baseline": score([m.p_elo for m in answered], [m.a_won for m in answered]),
                 "baseline_name": "team Elo"})
    return rows


# --- the walk -----------------------------------------------------------------------------------------------
def replay(current: Settings, data: list[Path], start: date, end: date | None, work: Path | None = None,
           keep: bool = False, progress: Progress = print, wait_s: float = 300.0,
           retrain: bool = False) -> tuple[ReplayResult, list]:
    from outscaled.ingest.events import game_start
    from outscaled.stream.publish import file_events

    events = []
    for path in data:
        files = sorted(p for p in path.rglob("*") if p.suffix in (".csv", ".parquet")) if path.is_dir() else [path]
        for file in files:
            try:
                events += file_events(file)
            except ValueError as error:  # a reduced layout has no whole games to publish
                progress(f"{file.name} left out: {error}")
    by_day: dict[date, list[dict]] = {}
    for event in events:
        moment = game_start(event)
        if moment and moment.date() >= start and (end is None or moment.date() <= end):
            by_day.setdefault(moment.date(), []).append(event)
    if not by_day:
        raise ValueError(f"no game from {start} to {end or 'the end'} in {', '.join(map(str, data))}")
    folder = Path(tempfile.mkdtemp(prefix="outscaled-replay-", dir=work))
    result = ReplayResult()
    with ProcessTreeGuardian(REPLAY_GRACE_SECONDS):  # its exit (or its guardian) ends what is left of the tree
        _walk(current, folder, by_day, start, keep, progress, wait_s, retrain, result)
    return result, summarise(result)


def _walk(current: Settings, folder: Path, by_day: dict[date, list[dict]], start: date, keep: bool,
          progress: Progress, wait_s: float, retrain: bool, result: ReplayResult) -> None:
    import httpx

    from outscaled.ingest.events import encode
    from outscaled.lakehouse.catalog import open_catalog
    from outscaled.lakehouse.loads import read_as_of_cut
    from outscaled.features.live_state import BRONZE_PLAYER_COLUMNS, BRONZE_TEAM_COLUMNS
    from outscaled.models.distributions import series_win_probability
    from outscaled.online.service_process import free_port, running_service
    from outscaled.stream.connect import open_stream

    try:
        scratch = scratch_home(current, folder, datetime.combine(start, datetime.min.time()), progress, retrain)
        catalog = open_catalog(scratch)
        _warn_if_trained_on_the_replay(catalog, start, progress)
        port = free_port()
        with _scratch_environment(scratch), running_service(scratch, port, folder / "service.log") as base_url, \
                httpx.Client(timeout=60) as client:
            serving = client.get(f"{base_url}/models/status").json()["serving"]
            stats = [s for s in ("kills", "deaths", "assists", "cs") if s in serving]
            consumer = start_consumer(scratch, folder / "consumer.log")
            stream = open_stream(scratch)
            try:
                for day in sorted(by_day):
                    day_events = sorted(by_day[day], key=lambda e: (e["game_start"], e["game_id"]))
                    players = stage_player_games(read_as_of_cut(catalog, "bronze.player_games",
                                                                tuple(BRONZE_PLAYER_COLUMNS)))
                    teams = stage_team_games(read_as_of_cut(catalog, "bronze.team_games", tuple(BRONZE_TEAM_COLUMNS)))
                    ratings, _ = continue_elo(teams, set(teams["game_id"].to_list()), {}, {})
                    latest = ratings.reverse().unique("team_key", keep="first")  # each team's rating now
                    elo = dict(zip(latest["team_key"].to_list(), latest["elo"].to_list()))
                    histories = {s: _history(players, s) for s in stats}
                    day_answers, day_matches = _ask(client, base_url, day_series(day_events), stats, histories, elo,
                                                    series_win_probability)
                    before = _sample_sizes(client, base_url, _named_players(day_events[-1]))
                    published = time.monotonic()
                    stream.publish([encode({**e, "published_at": time.time()}) for e in day_events])
                    served = _wait_served(client, base_url, day_events, before, published + wait_s)
                    freshness = time.monotonic() - published
                    result.answers += day_answers
                    result.matches += day_matches
                    answered = sum(a.p_over is not None for a in day_answers)
                    result.days.append({"day": day.isoformat(), "games": len(day_events), "questions": len(day_answers),
                                        "answered": answered, "served_s": freshness if served else None})
                    progress(f"{day}: {len(day_events)} games, {answered}/{len(day_answers)} answers, "
                             + (f"served {freshness:.1f} s after publishing" if served else "NOT served in time"))
            finally:
                stream.close()
                consumer.terminate()
                consumer.wait(60)
    finally:
        from outscaled.online.redis_server import stop_embedded

        if "scratch" in locals():
            stop_embedded(scratch)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _ask(client, base_url: str, series: list[dict], stats: list[str], histories: dict, elo: dict,
         series_win_probability) -> tuple[list[Answer], list[MatchAnswer]]:
    answers: list[Answer] = []
    questions: list[dict] = []
    matches: list[MatchAnswer] = []
    for item in series:
        maps = len(item["maps"])
        for team in item["teams"]:
            opponent = next(t for t in item["teams"] if t != team)
            names = {r["player_name"] for m in item["maps"] for r in m["players"] if r.get("team_name") == team
                     and r["player_name"].strip().lower() not in PLACEHOLDERS}
            for name in sorted(names):
                key = name.strip().lower()
                for stat in stats:
                    history = histories[stat].get(key, [])
                    for count in range(1, maps + 1):
                        line = rolling_line(history, count)
                        if line is None:
                            continue
                        actual = _actual(item["maps"][:count], name, team, stat)
                        baseline = poisson_over(history, count, line)
                        answers.append(Answer(stat, count, name, line, None, baseline, actual))
                        questions.append({"player": name, "stat": stat, "line": line, "map_start": 1,
                                          "map_end": count, "opponent": opponent, "best_of": item["best_of"]})
        a, b = item["teams"]
        rating_a, rating_b = (elo.get(t.strip().lower(), initial_rating()) for t in (a, b))
        p_elo_map = 1.0 / (1.0 + 10 ** ((rating_b - rating_a) / 400))
        reply = client.post(f"{base_url}/predict/match", json={"team_a": a, "team_b": b, "best_of": item["best_of"]})
        p_a = reply.json()["p_team_a_series"] if reply.status_code == 200 else None
        winner_maps = item["wins"]
        a_won = None if not winner_maps else winner_maps.get(a, 0) > winner_maps.get(b, 0)
        p_elo = series_win_probability(p_elo_map, item["best_of"])
        matches.append(MatchAnswer(a, b, item["best_of"], p_a, p_elo, a_won))
    for at in range(0, len(questions), 1000):
        reply = client.post(f"{base_url}/predict/batch", json={"requests": questions[at:at + 1000]})
        reply.raise_for_status()
        for answer, got in zip(answers[at:at + 1000], reply.json()["predictions"]):
            answer.p_over = got.get("p_over") if "error" not in got else None
    return answers, matches


def _actual(maps: list[dict], name: str, team: str, stat: str) -> float | None:
    column = {"cs": "total_cs"}.get(stat, stat)
    total = 0.0
    for game in maps:
        row = next((r for r in game["players"] if r["player_name"] == name and r.get("team_name") == team), None)
        if row is None or row.get(column) is None:
            return None
        total += float(row[column])
    return total


def _named_players(event: dict) -> list[str]:
    return sorted({r["player_name"] for r in event["rows"] if r.get("player_name") and r.get("position") != "team"
                   and r["player_name"].strip().lower() not in PLACEHOLDERS})


def _sample_sizes(client, base_url: str, names: list[str]) -> dict[str, int]:
    """Each player's games on record as the service counts them now (0: not known yet)."""
    questions = [{"player": n, "stat": "kills", "line": 0.5, "map_start": 1, "map_end": 1} for n in names]
    reply = client.post(f"{base_url}/predict/batch", json={"requests": questions})
    reply.raise_for_status()
    return {n: int(a.get("sample_size") or 0) for n, a in zip(names, reply.json()["predictions"])}


def _wait_served(client, base_url: str, events: list[dict], before: dict[str, int], deadline: float) -> bool:
    """Until the day's last game is counted in its named players' sample sizes (or the deadline passes)."""
    names = sorted(before)
    played = {n: sum(1 for e in events if n in _named_players(e)) for n in names}
    while time.monotonic() < deadline:
        now = _sample_sizes(client, base_url, names)
        if all(now[n] >= before[n] + played[n] for n in names):
            return True
        time.sleep(0.3)
    return False


