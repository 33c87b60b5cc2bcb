"""Benchmark: the served models on LightGBM against NVIDIA's nvForest (the GPU bento's engine).

Needs a home with champion models and a published snapshot (e.g. after `bash scripts/demo.sh`, or a growth
run kept with --keep), and nvForest (`bash scripts/nvforest.sh cpu` here, `gpu` on a CUDA machine):
  OUTSCALED_HOME=.outscaled .venv/bin/python benchmarks/gpu_inference.py [--rows 1000000] [--engines lightgbm,fil]
Engine `fil` is nvForest on the GPU when a CUDA device answers, in its CPU mode otherwise (it prints which).
1. Large batch scoring, the trees alone: the model rows of every player in gold.player_features (real rows),
   tiled to --rows, through every served stat model and the win model: rows per second (best of 3).
2. The nightly pricing job, in process: every active player of the snapshot x served stat x map range
   (1, 1-2, 1-3, 1-5) x 5 lines, through the predictor (Predictor.many, the service's code): seconds, answers/s.
3. The online batch endpoint: the real service started with OUTSCALED_INFERENCE=<engine>, /predict/batch of
   1,000 distinct requests x 30 (sequential): p50 / p95 / p99.
Every engine's pricing answers are compared with LightGBM's (max absolute difference printed).
"""

from __future__ import annotations

import argparse
import os
import time

import httpx
import numpy as np
import orjson

from loadgen import benchmark_headers  # benchmarks/loadgen.py
from outscaled.config import load_settings
from outscaled.features.rows import player_matrix, team_matrix
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from outscaled.models.forest import cuda_devices, resolve_engine
from outscaled.online.redis_server import connect, stop_embedded
from outscaled.online.requests import SingleRequest
from outscaled.online.service_process import free_port, running_service

LINES = {"kills": [0.5, 1.5, 2.5, 3.5, 4.5], "deaths": [0.5, 1.5, 2.5, 3.5, 4.5],
         "assists": [2.5, 4.5, 6.5, 8.5, 10.5], "cs": [250.5, 350.5, 450.5, 550.5, 650.5]}
RANGES = [(1, 1), (1, 2), (1, 3), (1, 5)]


def percentiles(seconds: list[float]) -> str:
    a = np.array(seconds) * 1000
    return " ".join(f"p{q} {np.percentile(a, q):7.2f} ms" for q in (50, 95, 99))


def load_engine(requested: str):
    os.environ["OUTSCALED_INFERENCE"] = requested
    from bentos.service import load_models

    models, _ = load_models()
    return models


def forest_throughput(models, players: np.ndarray, teams: np.ndarray) -> tuple[float, float]:
    """Rows per second through every served stat model, and through the win model (best of 3 runs)."""
    stat_models = [models.bundles[v].stats[s] for s, v in models.serving.items() if s != "win"]
    win = models.bundles[models.serving["win"]].win
    stat_seconds = min(_timed(lambda: [m.predict_mean(players) for m in stat_models]) for _ in range(3))
    win_seconds = min(_timed(lambda: win.predict(teams)) for _ in range(3))
    return len(players) * len(stat_models) / stat_seconds, len(teams) / win_seconds


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def pricing_requests(players: list[str], served: list[str]) -> list[SingleRequest]:
    return [SingleRequest(p, stat, line, a, b) for p in players for stat in served for a, b in RANGES
            for line in LINES[stat]]


def online_batches(settings, requested: str, bodies: list[dict], count: int = 30) -> str:
    os.environ["OUTSCALED_INFERENCE"] = requested
    headers = benchmark_headers(settings)
    with running_service(settings, free_port(), settings.home / f"bench-{requested}.log") as base_url:
        engine = httpx.get(f"{base_url}/models/status", headers=headers).json()["inference"]
        body = orjson.dumps({"requests": bodies})
        samples = []
        with httpx.Client(base_url=base_url, timeout=120,
                          headers={"content-type": "application/json", **headers}) as client:
            client.post("/predict/batch", content=body)  # warm up
            for _ in range(count):
                started = time.perf_counter()
                answer = client.post("/predict/batch", content=body)
                samples.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text[:300]
    return f"{engine:9s} batch of {len(bodies):,} x {count}: {percentiles(samples)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="lightgbm,fil")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    engines = args.engines.split(",")
    settings = load_settings()
    catalog = open_catalog(settings)
    print(f"home {settings.home}; CUDA devices: {cuda_devices()}; engines: "
          + ", ".join(f"{e} -> {resolve_engine(e)}" for e in engines))
    real_players = player_matrix(read_table(catalog.load_table("gold.player_features")))
    real_teams = team_matrix(read_table(catalog.load_table("gold.team_features")))
    players = np.ascontiguousarray(np.resize(real_players, (args.rows, real_players.shape[1])))
    teams = np.ascontiguousarray(np.resize(real_teams, (args.rows, real_teams.shape[1])))
    print(f"1. trees alone: {len(real_players):,} real player rows and {len(real_teams):,} team rows, "
          f"tiled to {args.rows:,} each")
    from outscaled.online.predictor import Predictor

    client = connect(settings)
    try:
        baseline = None
        for requested in engines:
            models = load_engine(requested)
            stat_rate, win_rate = forest_throughput(models, players, teams)
            print(f"   {resolve_engine(requested):9s} stat models {stat_rate:12,.0f} rows/s   "
                  f"win model {win_rate:12,.0f} rows/s")
            predictor = Predictor(client, models)
            served = sorted(s for s in models.serving if s != "win")
            names = [p["name"] or p["key"] for p in predictor.search_players("", limit=100_000)]
            requests = pricing_requests(names, served)
            predictor.many(requests[:2000])  # warm up (numba, memo-free sizes)
            started = time.perf_counter()
            answers = predictor.many(requests)
            seconds = time.perf_counter() - started
            p_over = np.array([a["p_over"] if isinstance(a, dict) else np.nan for a in answers])
            expected = np.array([a["expected"] if isinstance(a, dict) else np.nan for a in answers])
            difference = ("" if baseline is None else
                          f"  max |diff| vs lightgbm: p_over {np.nanmax(np.abs(p_over - baseline[0])):.1e}, "
                          f"expected {np.nanmax(np.abs(expected - baseline[1])):.1e}")
            baseline = baseline or (p_over, expected)
            print(f"2. {resolve_engine(requested):9s} pricing job: {len(names):,} players x {len(served)} stats x "
                  f"{len(RANGES)} ranges x 5 lines = {len(requests):,} answers in {seconds:.1f} s "
                  f"({len(requests) / seconds:,.0f}/s){difference}")
        if not args.skip_http:
            distinct = [{"player": r.player, "stat": r.stat, "line": r.line, "map_start": r.map_start,
                         "map_end": r.map_end} for r in requests[::5]][:1000]
            for requested in engines:
                print("3. " + online_batches(settings, requested, distinct))
    finally:
        if not settings.redis_url:
            stop_embedded(settings)


if __name__ == "__main__":
    main()
