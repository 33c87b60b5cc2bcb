"""Benchmark the prediction service on loopback: open-loop load at fixed rates (latency measured from
each request's planned send time), batches of 1,000, and the Redis round trip as the floor.

Needs a home with champion models and a published snapshot (e.g. after `outscaled demo`):
  OUTSCALED_HOME=.outscaled .venv/bin/python benchmarks/serve_load.py [--seconds 10]
Workloads: see `workloads`. Targets on 2 cores: single p99 <= 10 ms at 500 req/s (stretch 5 ms at
1,000/s); batch of 1,000 p95 <= 100 ms (stretch 50 ms).
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import threading
import time
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson

from loadgen import benchmark_headers, run_open_loop  # benchmarks/loadgen.py
from outscaled.config import load_settings
from outscaled.online.redis_server import connect, stop_embedded
from outscaled.online.service_process import free_port, running_service
from outscaled.online.snapshot import POINTER, key


def percentiles(values: list[float]) -> str:
    a = np.array(values) * 1000
    return f"p50 {np.percentile(a, 50):6.2f} ms  p95 {np.percentile(a, 95):6.2f} ms  p99 {np.percentile(a, 99):6.2f} ms"


def host_speed() -> str:
    """A fixed pure-Python loop, timed just after a workload: how fast the host was then (it moves when the
    host is slowed down from outside; compare runs only at similar values)."""
    started = time.perf_counter()
    sum(i * i for i in range(500_000))
    return f"host check {1000 * (time.perf_counter() - started):.0f} ms"


def redis_floor(settings, players: list[str]) -> None:
    client = connect(settings)
    snapshot = client.get(POINTER).decode()
    samples = []
    for i in range(3000):
        player = players[i % len(players)]
        started = time.perf_counter()
        client.mget([key(snapshot, "p", player), key(snapshot, "t", "x")])
        samples.append(time.perf_counter() - started)
    print(f"redis MGET round trip (floor)        {percentiles(samples)}")


def connections_per_worker(port: int) -> str:
    """How the generator's keep-alive connections are spread over the service's worker processes (they
    share one listening socket; a worker holding most of them gets most of the load). Linux `ss`."""
    try:
        listing = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                                 capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    counts = collections.Counter(re.findall(r"pid=(\d+),", listing))
    return "/".join(str(n) for _, n in counts.most_common()) or "unknown"


def single_at_rate(base_url: str, bodies: list[dict], rate: int, seconds: float, burst: bool = False,
                   headers: dict[str, str] | None = None) -> None:
    split: list[str] = []
    probe = threading.Timer(min(2.0, seconds / 2), lambda: split.append(connections_per_worker(urlsplit(base_url).port)))
    probe.start()
    result = run_open_loop(base_url, "/predict/single", bodies, rate, seconds, burst=burst, headers=headers)
    probe.join()
    print(f"single @ {rate:5d}/s for {seconds:.0f}s: {len(result.latencies) / result.elapsed:7.0f} req/s done, "
          f"{percentiles(result.latencies)}  errors {result.errors}  (connections per worker "
          f"{split[0] if split else 'unknown'}; {host_speed()})")
    spent = [t for t in result.service if t == t]
    if spent:
        print(f"    of which in the service (Server-Timing)     {percentiles(spent)}")


def batches(base_url: str, name: str, requests: list[dict], count: int, headers: dict[str, str]) -> None:
    samples, in_service, errors = [], [], 0
    body = orjson.dumps({"requests": requests})  # encoded once: the client's JSON encoding is not the service's time
    with httpx.Client(base_url=base_url, timeout=60, headers={"content-type": "application/json", **headers}) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = client.post("/predict/batch", content=body)
            samples.append(time.perf_counter() - started)
            in_service.append(float(response.headers["server-timing"].partition("dur=")[2]) / 1000)
            errors += response.status_code != 200
    print(f"batch of {len(requests):,} {name:9s} x {count} (sequential) {percentiles(samples)}  errors {errors}"
          f"  ({host_speed()})")
    print(f"    of which in the service (Server-Timing)     {percentiles(in_service)}")
    print("    each (ms, in order):", " ".join(str(round(x * 1000)) for x in samples))


LINES = {"kills": [0.5, 1.5, 2.5, 3.5, 4.5], "deaths": [0.5, 1.5, 2.5, 3.5, 4.5],
         "assists": [2.5, 4.5, 6.5, 8.5, 10.5], "cs": [250.5, 350.5, 450.5, 550.5, 650.5]}
RANGES = [(1, 1), (1, 2), (1, 3), (2, 3)]


def workloads(players: list[str]) -> tuple[list[dict], list[dict], list[dict]]:
    """Single requests: every player, stat and map range in a fixed shuffled order (mostly distinct rows).
    A slate batch: 50 players x 4 stats x 5 lines, maps 1-2 (what a pricing run over a few matches asks).
    A distinct batch: 1,000 different (player, stat, maps) requests, the worst case for the service."""
    rng = np.random.default_rng(7)
    every = [{"player": p, "stat": s, "line": LINES[s][2], "map_start": a, "map_end": b}
             for p in players for s in LINES for a, b in RANGES]
    singles = [every[i] for i in rng.permutation(len(every))]
    slate = [{"player": p, "stat": s, "line": line, "map_start": 1, "map_end": 2}
             for p in players[:50] for s in LINES for line in LINES[s]]
    return singles, slate, singles[:1000]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rates", type=int, nargs="*", default=[100, 200, 500, 1000])
    parser.add_argument("--burst-connect", action="store_true",
                        help="open the generator's 64 connections at once (see benchmarks/loadgen.py)")
    args = parser.parse_args()
    settings = load_settings()
    port = free_port()
    auth = benchmark_headers(settings)
    try:
        with running_service(settings, port, settings.home / "bench-service.log") as base_url:
            players = [p["name"] for p in httpx.get(f"{base_url}/players?q=&limit=1000", headers=auth).json()["players"]]
            singles, slate, distinct = workloads(players)
            served = httpx.get(f"{base_url}/models/status", headers=auth).json()["serving"]
            singles, slate, distinct = ([r for r in w if r["stat"] in served] for w in (singles, slate, distinct))
            print(f"{len(players)} players; {len(singles):,} different single requests")
            redis_floor(settings, [p.lower() for p in players])
            for body in singles[:300]:  # warm up
                httpx.post(f"{base_url}/predict/single", json=body, headers=auth)
            for rate in args.rates:
                single_at_rate(base_url, singles, rate, args.seconds, burst=args.burst_connect, headers=auth)
            batches(base_url, "slate", slate, 30, auth)
            batches(base_url, "distinct", distinct, 30, auth)
    finally:
        if not settings.redis_url:
            stop_embedded(settings)


if __name__ == "__main__":
    main()
