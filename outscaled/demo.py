"""`outscaled demo`: the main job on real data, end to end, as far as the platform goes today."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

SUMMARY_SQL = """
SELECT league, year(date) AS year, count(DISTINCT game_id) AS games, count(*) AS player_rows
FROM bronze.player_games GROUP BY ALL ORDER BY year, league
"""
SAMPLE_SQL = """
SELECT player_name, team_name, count(*) AS games, round(avg(kills), 2) AS kills_per_game,
       round(avg(assists), 2) AS assists_per_game
FROM bronze.player_games WHERE position = 'mid'
GROUP BY ALL HAVING count(*) >= 10 ORDER BY kills_per_game DESC LIMIT 5
"""


LAYER_COUNTS_SQL = """
SELECT (SELECT count(*) FROM bronze.player_games) AS bronze_player_rows,
       (SELECT count(*) FROM gold.player_features) AS gold_player_feature_rows,
       (SELECT count(*) FROM bronze.team_games) AS bronze_team_rows,
       (SELECT count(*) FROM gold.team_features) AS gold_team_feature_rows,
       (SELECT count(*) FROM silver.series) AS series
"""
FEATURES_SQL = """
SELECT player_name, team_name, cast(series_start AS date) AS series_day, map_number AS map, best_of,
       games_played, round(kills_avg_10, 2) AS kills_last10, round(kills_ewm, 2) AS kills_ewm,
       round(opponent_conceded_kills_avg_10, 2) AS opp_concedes, round(team_elo) AS elo, target_kills AS kills
FROM gold.player_features WHERE position = 'mid' AND games_played >= 20
ORDER BY game_start DESC, player_name LIMIT 6
"""


BACKTEST_SQL = """
SELECT model, method, n, round(log_loss, 4) AS log_loss, round(brier, 4) AS brier, round(accuracy, 3) AS accuracy,
       round(ece, 4) AS ece, round(mae, 3) AS mae
FROM gold.backtest_metrics WHERE scope = 'overall' ORDER BY model, method
"""
REGISTRY_SQL = """
SELECT version, model, status, cast(train_end AS date) AS train_end, reason FROM gold.model_registry
ORDER BY created_at DESC, model LIMIT 10
"""


LIVE_FILE = "lck_lpl_2024_jan_feb.csv"  # of the bundled data: its last day is published live in step 10


def _hold_out_live_day(data: list[Path]) -> tuple[list[Path], Path | None, str | None]:
    """The files to ingest, and the real games of the last day of LIVE_FILE (left out of the ingest, to be
    published to the stream in step 10), when LIVE_FILE is among the data."""
    from outscaled.config import load_settings
    from outscaled.stream.publish import split_last_day

    files = [p for d in data for p in (sorted(x for x in d.rglob("*") if x.is_file() and x.name != "README.md")
                                       if d.is_dir() else [d])]
    chosen = next((p for p in files if p.name == LIVE_FILE), None)
    split = split_last_day(chosen, load_settings().home / "demo") if chosen else None
    if split is None:
        return data, None, None
    before, day, last = split
    return [before if p == chosen else p for p in files], day, last


def run_demo(data: list[Path], ingest: Callable, sql: Callable, materialize: Callable) -> int:
    console.rule("[bold]1. ingest real Oracle's Elixir files into Iceberg (bronze)")
    data, live_games, live_day = _hold_out_live_day(data)
    if live_games:
        console.print(f"(the games of {live_day} in {LIVE_FILE} are held back: step 10 publishes them live)")
    ingest(argparse.Namespace(paths=data, date_order=[]))
    console.rule("[bold]2. games per league and year (outscaled sql)")
    sql(argparse.Namespace(query=SUMMARY_SQL, format="table"))
    console.rule("[bold]3. sample query: top mid laners by kills per game")
    sql(argparse.Namespace(query=SAMPLE_SQL, format="table"))
    console.rule("[bold]4. transform (dbt on DuckDB), check (Great Expectations), backtest, train, gate, register")
    materialize(argparse.Namespace(select="*"))
    sql(argparse.Namespace(query=LAYER_COUNTS_SQL, format="table"))
    console.rule("[bold]5. point-in-time features (known before each series began) and the actual result")
    sql(argparse.Namespace(query=FEATURES_SQL, format="table"))
    console.rule("[bold]6. walk-forward backtest: model vs baselines (p_over at each player's rolling-median line)")
    sql(argparse.Namespace(query=BACKTEST_SQL, format="table"))
    console.rule("[bold]7. model registry (outscaled models list)")
    sql(argparse.Namespace(query=REGISTRY_SQL, format="table"))
    console.rule("[bold]8. serve: BentoML service on the published Redis snapshot, real predictions over HTTP")
    show_predictions(live_games)
    console.print("Data from Oracle's Elixir. Next: `outscaled serve` and open http://127.0.0.1:3001/")
    return 0


def _post(base_url: str, path: str, key: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(base_url + path, data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def show_predictions(live_games: Path | None = None) -> None:
    """Start the service (and the embedded Redis), ask it real questions, print the answers, stop both."""
    from outscaled.config import load_settings
    from outscaled.online.redis_server import stop_embedded
    from outscaled.online.service_process import free_port, running_service
    from outscaled.platform.keys import create_key

    settings = load_settings()
    port = free_port()
    created = create_key(settings, "reader", "outscaled demo")  # as `outscaled keys create --role reader`
    key = created.key
    console.print(f"API key {created.record.key_id} (reader) for the demo's requests: "
                  f"Authorization: Bearer osk_{created.record.key_id}_…")
    try:
        with running_service(settings, port, settings.home / "service.log") as base_url:
            console.print(f"service up at {base_url} (log: {settings.home / 'service.log'})")
            players = _post(base_url, "/players?q=", key)["players"][:3]
            teams = sorted(_post(base_url, "/teams", key)["teams"], key=lambda t: -(t["elo"] or 0))[:2]
            for player in players:
                answer = _post(base_url, "/predict/single", key, {"player": player["name"], "stat": "kills",
                                                                  "line": 4.5, "map_start": 1, "map_end": 2})
                console.print(f"[bold]{answer['player']}[/] ({answer['team']}) kills maps 1-2, line 4.5: "
                              f"[bold]{answer['pick'].upper()}[/] p_over={answer['p_over']:.3f} "
                              f"expected={answer['expected']:.2f} 80%={answer['interval']} "
                              f"games={answer['sample_size']}")
                for reason in answer["reasoning"][:2]:
                    console.print(f"    - {reason}")
            curve = _post(base_url, f"/predict/curve/{urllib.parse.quote(players[0]['name'])}"
                               "?stat=assists&map_start=1&map_end=3", key)
            console.print(f"assists curve for {curve['player']} (maps 1-3): " + ", ".join(
                f"{p['line']}: {p['p_over']:.2f}" for p in curve["curve"][4:24:4]))
            serving = _post(base_url, "/models/status", key)["serving"]
            if "win" not in serving:  # the gate refuses a win model that is worse than Elo alone
                console.print("no win model serves: the gate refused it (see `outscaled models list`)")
            elif len(teams) == 2:
                match = _post(base_url, "/predict/match", key, {"team_a": teams[0]["name"],
                                                                "team_b": teams[1]["name"], "best_of": 5})
                console.print(f"{match['team_a']} vs {match['team_b']} (best of 5): map {match['p_team_a_map']:.3f}, "
                              f"series {match['p_team_a_series']:.3f}")
            status = _post(base_url, "/models/status", key)
            console.print(f"serving {status['serving']} from snapshot {status['snapshot_id']} (redis {status['redis']})")
            show_analytics(settings, created.record.key_id)
            if live_games is not None:
                show_live(settings, base_url, key, live_games)
    finally:
        if not settings.redis_url:
            stop_embedded(settings)
    console.print("service and embedded Redis stopped")


ANALYTICS_SQL = ("SELECT request_id, endpoint, player, stat, line, round(p_over, 3) AS p_over, model_version, arm "
                 "FROM predictions FINAL WHERE key_id = '{key}' ORDER BY ts LIMIT 6")
SETTLED_SQL = ("SELECT model_version, arm, stat, count() AS settled, round(avg(hit), 3) AS accuracy "
               "FROM prediction_feedback FINAL WHERE status = 'settled' GROUP BY model_version, arm, stat "
               "ORDER BY model_version, arm, stat")


def show_analytics(settings, key_id: str, wait: float = 15.0) -> None:
    """The demo's own answers as the analytics store logged them (`outscaled analytics`), and the settled
    accuracy so far (the prediction_feedback asset settles a prediction once its series is ingested)."""
    import time

    from outscaled.analytics.store import run_query

    console.rule("[bold]9. analytics: every answer logged to ClickHouse (chdb), settled when the games arrive")
    deadline, rows = time.monotonic() + wait, []
    while time.monotonic() < deadline and len(rows) < 5:  # the writer drains the log within a second or two
        rows = run_query(settings, ANALYTICS_SQL.format(key=key_id)).to_pylist()
        time.sleep(0.5)
    console.print(f"outscaled analytics \"{ANALYTICS_SQL.format(key=key_id)}\"")
    for row in rows:
        console.print("  " + "  ".join(f"{name}={value}" for name, value in row.items()))
    settled = run_query(settings, SETTLED_SQL).to_pylist()
    if settled:
        for row in settled:
            console.print("  settled: " + "  ".join(f"{name}={value}" for name, value in row.items()))
    else:
        console.print("settled accuracy: no prediction settled yet; the demo's answers are about series not played "
                      "yet, and `outscaled materialize --select analytics/prediction_feedback` settles them once "
                      "their games are ingested")


def show_live(settings, base_url: str, key: str, games_file: Path) -> None:
    """Publish held-back real games to the match-results stream, consume them into bronze, update the live
    state and publish a delta snapshot; then show the answers that changed because of them."""
    import time

    from outscaled.lakehouse.catalog import open_catalog
    from outscaled.online.live import LiveServing
    from outscaled.online.redis_server import connect
    from outscaled.stream.connect import open_stream
    from outscaled.stream.consumer import consume
    from outscaled.stream.publish import file_events, publish_events

    console.rule("[bold]10. the live path: a finished game published to the stream changes the prediction")
    events = file_events(games_file)
    players = sorted({r["player_name"] for e in events for r in e["rows"]
                      if r.get("player_name") and r["player_name"].strip().lower() not in ("unknown", "unknown player")})

    def ask(player: str) -> dict | None:
        try:
            return _post(base_url, "/predict/single", key, {"player": player, "stat": "kills", "line": 4.5,
                                                            "map_start": 1, "map_end": 2})
        except urllib.error.HTTPError:
            return None

    before = {p: ask(p) for p in players}
    stream = open_stream(settings)
    published = time.monotonic()
    report = publish_events(stream, events)
    console.print(f"outscaled publish {games_file.name}: {report.events} games of {report.first_game[:10]} to "
                  f"{stream.topic} ({stream.description})")
    totals = consume(settings, idle_s=1.0, stream=stream)
    refreshed = LiveServing(open_catalog(settings), connect(settings)).refresh()
    console.print(f"outscaled consume --live: {totals.events} events into bronze ({totals.games_added} new games); "
                  f"snapshot {refreshed.snapshot.snapshot_id} is a delta that wrote {refreshed.snapshot.written} "
                  f"values for the {refreshed.players} players and {refreshed.teams} teams touched")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _post(base_url, "/models/status", key)["snapshot_id"] != \
            refreshed.snapshot.snapshot_id:
        time.sleep(0.2)
    served = time.monotonic() - published
    after = {p: ask(p) for p in players}
    changed = sorted((p for p in players if before[p] and after[p]),
                     key=lambda p: -abs(after[p]["expected"] - before[p]["expected"]))
    for player in changed[:4]:
        b, a = before[player], after[player]
        console.print(f"[bold]{a['player']}[/] kills maps 1-2, line 4.5: expected {b['expected']:.2f} -> "
                      f"{a['expected']:.2f}, p_over {b['p_over']:.3f} -> {a['p_over']:.3f}, games on record "
                      f"{b['sample_size']} -> {a['sample_size']}")
    counted = sum(1 for p in changed if after[p]["sample_size"] > before[p]["sample_size"])
    console.print(f"{counted} of {len(changed)} players now count the new games; published to served in {served:.1f} s")
