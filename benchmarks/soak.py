"""Soak the prediction service: open-loop load of mixed requests for many minutes, with the embedded
redis-server killed (-9) once in the middle; the platform's supervisor must bring it back.

Needs a home with champion models and a published snapshot (e.g. after `outscaled demo`):
  OUTSCALED_HOME=.outscaled .venv/bin/python benchmarks/soak.py [--minutes 10] [--rate 500]
The mix, per 20 requests: 16 single, 2 batch (10 different requests each), 2 curve (GET). Latency is
measured from each request's planned send time (benchmarks/loadgen.py), binned by the minute it was
planned in. Printed: errors by status and kind, p99 per minute, the workers' resident memory per minute
(VmRSS from /proc), and three targets with PASS/FAIL:
  - no 5xx except 503s while Redis is down (from the kill to the first answer after it, plus 1 s);
  - p99 in the last minute within 1.5x of the first;
  - the workers' resident memory (summed) grows by less than 50 MB from the start of the load to its end.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import redis

from loadgen import benchmark_headers, request_bytes, run_requests  # benchmarks/loadgen.py
from outscaled.config import load_settings
from outscaled.online.lifecycle import descendants
from outscaled.online.redis_server import connect, stop_embedded
from outscaled.online.service_process import free_port, running_service
from serve_load import workloads  # benchmarks/serve_load.py

KINDS = ["single"] * 16 + ["batch"] * 2 + ["curve"] * 2
BATCH_SIZE = 10
MEMORY_GROWTH_LIMIT_MB = 50
P99_GROWTH_LIMIT = 1.5


def mixed_requests(netloc: str, players: list[str], served: set[str],
                   headers: dict[str, str]) -> tuple[list[bytes], list[str]]:
    singles, _, distinct = (
        [r for r in w if r["stat"] in served] for w in workloads(players))
    stats = sorted(served & {"kills", "deaths", "assists", "cs"})
    requests, kinds = [], []
    for n in range(2000):
        kind = KINDS[n % len(KINDS)]
        if kind == "single":
            request = request_bytes(netloc, "/predict/single", singles[n % len(singles)], headers=headers)
        elif kind == "batch":
            start = (n * BATCH_SIZE) % (len(distinct) - BATCH_SIZE)
            request = request_bytes(netloc, "/predict/batch", {"requests": distinct[start:start + BATCH_SIZE]},
                                    headers=headers)
        else:
            player = quote(players[n % len(players)], safe="")
            request = request_bytes(netloc, f"/predict/curve/{player}?stat={stats[n % len(stats)]}&map_start=1&map_end=2",
                                    headers=headers)
        requests.append(request)
        kinds.append(kind)
    return requests, kinds


def worker_pids() -> list[int]:
    """The service's worker processes (below this process: running_service started the service)."""
    found = []
    for pid in descendants(os.getpid()):
        try:
            if b"_bentoml_impl.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return sorted(found)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    """The workers' RSS at the start and at the end of every minute of load, and the host's load average."""

    def __init__(self, pids: list[int], minutes: int):
        super().__init__(daemon=True)
        self.pids, self.minutes = pids, minutes
        self.samples: list[tuple[int, list[float], float]] = []
        self.started = threading.Event()

    def run(self) -> None:
        self.started.wait()
        began = time.monotonic()
        for minute in range(self.minutes + 1):
            time.sleep(max(0.0, began + 60 * minute - time.monotonic()))
            self.samples.append((minute, [rss_mb(p) for p in self.pids], os.getloadavg()[0]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--rate", type=float, default=500)
    args = parser.parse_args()
    settings = load_settings()
    redis_pid_file = settings.home / "redis" / "redis.pid"
    auth = benchmark_headers(settings)
    try:
        with running_service(settings, free_port(), settings.home / "soak-service.log") as base_url:
            players = [p["name"] for p in httpx.get(f"{base_url}/players?q=&limit=1000", headers=auth).json()["players"]]
            served = set(httpx.get(f"{base_url}/models/status", headers=auth).json()["serving"])
            netloc = base_url.removeprefix("http://")
            requests, kinds = mixed_requests(netloc, players, served, auth)
            print(f"{len(players)} players; {args.rate:.0f} req/s for {args.minutes} min; mix per 20: "
                  f"16 single, 2 batch of {BATCH_SIZE}, 2 curve")
            run_requests(base_url, requests, 100, 10)  # warm-up: every kind, caches filled
            workers = worker_pids()
            sampler = Sampler(workers, args.minutes)
            sampler.start()
            kill: dict[str, float] = {}
            seconds = 60 * args.minutes

            def kill_redis() -> None:
                pid = int(redis_pid_file.read_text())
                os.kill(pid, signal.SIGKILL)
                kill.update(pid=pid, at=time.perf_counter())
                client = connect(settings, start=False)
                while True:  # until the supervisor has it answering again
                    try:
                        if client.ping():
                            break
                    except (redis.RedisError, OSError):
                        time.sleep(0.01)
                kill["back"] = time.perf_counter()

            killer = threading.Timer(seconds / 2, kill_redis)
            sampler.started.set()
            killer.start()
            result = run_requests(base_url, requests, args.rate, seconds)
            sampler.join(timeout=70)
            after_workers = worker_pids()
            restarted_pid = int(redis_pid_file.read_text())
        report(args, result, kinds, sampler.samples, kill, workers, after_workers, restarted_pid)
    finally:
        if not settings.redis_url:
            stop_embedded(settings)


def report(args, result, kinds, samples, kill, workers, after_workers, restarted_pid) -> None:
    rate = args.rate
    planned = np.array(result.indices) / rate  # planned send time, seconds from the load's start
    latency = np.array(result.latencies) * 1000
    status = np.array(result.statuses)
    kind = np.array([kinds[i % len(kinds)] for i in result.indices])
    print(f"\n{len(status):,} requests in {result.elapsed:.0f} s ({len(status) / result.elapsed:.0f} req/s done)")

    by_status = collections.Counter(status.tolist())
    print("responses by status: " + ", ".join(f"{s}: {n:,}" for s, n in sorted(by_status.items())))
    for name in ("single", "batch", "curve"):
        mine = status[kind == name]
        bad = collections.Counter(mine[mine != 200].tolist())
        print(f"  {name:6s} {len(mine):8,}  non-200: " + (", ".join(f"{s}: {n}" for s, n in sorted(bad.items())) or "none"))

    # The outage, on the clock of the responses' arrival: from the kill until the server answers again,
    # plus the service's cached snapshot pointer (1 s) and a margin for responses already on their way.
    done = np.array(result.completed)
    allowed = np.zeros(len(status), dtype=bool)
    if "back" in kill:
        killed, back = kill["at"] - result.started, kill["back"] - result.started
        allowed = (status == 503) & (done >= killed) & (done <= back + 2)
        last_503 = f"{done[allowed].max() - killed:.2f} s" if allowed.any() else "-"
        print(f"redis-server pid {kill['pid']} killed at {killed:.1f} s; answering again (pid {restarted_pid}) "
              f"{back - killed:.2f} s later; 503s from the kill to 2 s after the restart: {int(allowed.sum())}, "
              f"the last {last_503} after the kill")
    other_errors = int(((status >= 500) & ~allowed).sum() + (status == 0).sum())

    print("\nminute  requests  p50 ms   p99 ms  max ms  non-200  workers' RSS MB (end of minute)  load avg")
    rss = {minute: values for minute, values, _ in samples}
    load = {minute: value for minute, _, value in samples}
    p99s = []
    for minute in range(args.minutes):
        mine = (planned >= 60 * minute) & (planned < 60 * (minute + 1))
        lat = latency[mine]
        p99 = float(np.percentile(lat, 99)) if len(lat) else float("nan")
        p99s.append(p99)
        memory = " / ".join(f"{v:.0f}" for v in rss.get(minute + 1, []))
        print(f"{minute + 1:6d}  {int(mine.sum()):8,}  {np.percentile(lat, 50):6.2f}  {p99:7.2f}  {lat.max():6.0f}"
              f"  {int((status[mine] != 200).sum()):7,}  {memory:31s}  {load.get(minute + 1, float('nan')):.2f}")
    start_rss = sum(rss.get(0, [])) if rss.get(0) else float("nan")
    end_rss = sum(rss[max(rss)]) if rss else float("nan")
    print(f"workers {workers} at the start, {after_workers} at the end "
          f"({'same processes' if workers == after_workers else 'RESTARTED'}); RSS at the start "
          + " / ".join(f"{v:.0f}" for v in rss.get(0, [])) + " MB")

    growth = end_rss - start_rss
    targets = [
        (f"no 5xx except 503s while Redis is down: {other_errors} other errors", other_errors == 0),
        (f"p99 last minute {p99s[-1]:.2f} ms within {P99_GROWTH_LIMIT}x of the first ({p99s[0]:.2f} ms): "
         f"{p99s[-1] / p99s[0]:.2f}x", p99s[-1] <= P99_GROWTH_LIMIT * p99s[0]),
        (f"workers' memory growth {growth:+.1f} MB (summed; {start_rss:.0f} -> {end_rss:.0f} MB) under "
         f"{MEMORY_GROWTH_LIMIT_MB} MB", growth < MEMORY_GROWTH_LIMIT_MB),
        ("no service restart (same worker pids)", workers == after_workers),
    ]
    print("\ntargets:")
    for text, ok in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")


if __name__ == "__main__":
    main()
