"""Benchmark the prediction service on loopback: open-loop load at fixed rates (latency measured from
each request's planned send time), batches of 1,000, and the Redis round trip as the floor.

Needs a home with champion models and a published snapshot (e.g. after `outscaled demo`):
  OUTSCALED_HOME=.outscaled .venv/bin/python benchmarks/serve_load.py [--seconds 10]
Targets on 2 cores: single p99 <= 10 ms at 500 req/s (stretch 5 ms at 1,000/s); batch of 1,000 p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx
import numpy as np

from outscaled.config import load_settings
from outscaled.online.redis_server import connect, stop_embedded
from outscaled.online.service_process import free_port, running_service
from outscaled.online.snapshot import POINTER, key


def percentiles(values: list[float]) -> str:
    a = np.array(values) * 1000
    return f"p50 {np.percentile(a, 50):6.2f} ms  p95 {np.percentile(a, 95):6.2f} ms  p99 {np.percentile(a, 99):6.2f} ms"


def redis_floor(settings, players: list[str]) -> None:
    client = connect(settings)
    snapshot = client.get(POINTER).decode()
    samples = []
    for i in range(3000):
        player = players[i % len(players)]
        started = time.perf_counter()
        client.mget([key(snapshot, "p", player), key(snapshot, "t", "x"), key(snapshot, "b", "LCK")])
        samples.append(time.perf_counter() - started)
    print(f"redis MGET round trip (floor)        {percentiles(samples)}")


async def open_loop(base_url: str, bodies: list[dict], rate: int, seconds: float) -> None:
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10) as client:
        start = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            nonlocal errors
            planned = start + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                response = await client.post("/predict/single", json=bodies[i % len(bodies)])
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - planned)
            errors += not ok

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - start
    print(f"single @ {rate:5d}/s for {seconds:.0f}s: {len(latencies) / elapsed:7.0f} req/s done, "
          f"{percentiles(latencies)}  errors {errors}")


def batches(base_url: str, bodies: list[dict], count: int) -> None:
    payload = {"requests": [bodies[i % len(bodies)] for i in range(1000)]}
    samples, errors = [], 0
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = client.post("/predict/batch", json=payload)
            samples.append(time.perf_counter() - started)
            errors += response.status_code != 200
    print(f"batch of 1,000 x {count} (sequential)      {percentiles(samples)}  errors {errors}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rates", type=int, nargs="*", default=[100, 200, 500, 1000])
    args = parser.parse_args()
    settings = load_settings()
    port = free_port()
    try:
        with running_service(settings, port, settings.home / "bench-service.log") as base_url:
            players = [p["name"] for p in httpx.get(f"{base_url}/players?q=").json()["players"]]
            bodies = [{"player": p, "stat": s, "line": 3.5, "map_start": 1, "map_end": 2}
                      for p in players for s in ("kills", "assists", "deaths")]
            redis_floor(settings, [p.lower() for p in players])
            for _ in range(200):  # warm up
                httpx.post(f"{base_url}/predict/single", json=bodies[0])
            for rate in args.rates:
                asyncio.run(open_loop(base_url, bodies, rate, args.seconds))
            batches(base_url, bodies, 30)
    finally:
        if not settings.redis_url:
            stop_embedded(settings)


if __name__ == "__main__":
    main()
