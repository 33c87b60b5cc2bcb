"""What the platform layer costs a single prediction, and whether the analytics sink loses any row.

Starts the service alternately without the platform layer (OUTSCALED_AUTH=off, OUTSCALED_ACCESS_LOG=off,
OUTSCALED_PREDICTION_LOG=off) and with it (auth on with a reader key, the rate limiter asked on every
request with a rate the load cannot reach, JSON access lines, every prediction logged to the analytics
store), `--pairs` times each, in one run; each time: a warm-up, then single predictions at `--rate` for
`--seconds` (open loop, benchmarks/loadgen.py). Prints p50/p99 per run and the differences (with - without),
and for each run with the layer the rows of its key in the analytics store against the 200s it answered.

  OUTSCALED_HOME=… .venv/bin/python benchmarks/platform_overhead.py [--rate 500] [--seconds 20] [--pairs 2]
Target (issue 13): the layer adds at most 1 ms to p50 and 2 ms to p99 at 500 req/s; rows in the sink =
requests answered.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import httpx
import numpy as np

from loadgen import BENCHMARK_RATE, run_open_loop  # benchmarks/loadgen.py
from outscaled.config import load_settings
from outscaled.online.redis_server import stop_embedded
from outscaled.online.service_process import free_port, running_service
from serve_load import host_speed, workloads  # benchmarks/serve_load.py

WITHOUT = {"OUTSCALED_AUTH": "off", "OUTSCALED_ACCESS_LOG": "off", "OUTSCALED_PREDICTION_LOG": "off"}
WITH = {"OUTSCALED_AUTH": "on", "OUTSCALED_ACCESS_LOG": "on", "OUTSCALED_PREDICTION_LOG": "on",
        "OUTSCALED_RATE_READER": BENCHMARK_RATE}


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) so far of every process on this machine, by pid, with a short label
    (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        label = _label(command)
        if label == "bentoml worker":  # each on its own: connections are not spread evenly across them
            label = f"bentoml worker {entry.name}"
        found[int(entry.name)] = (label, (int(fields[11]) + int(fields[12])) / tick)
    return found


def _label(command: str) -> str:
    for marker, label in (("redis-server", "redis-server"), ("outscaled.analytics.writer", "analytics writer"),
                          ("_bentoml_impl.worker", "bentoml worker"), ("bentoml", "bentoml arbiter"),
                          ("platform_overhead", "load generator")):
        if marker in command:
            return label
    return command[:40] or "?"


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each kind of process used between two `cpu_seconds()` readings, largest first."""
    used: dict[str, float] = {}
    for pid, (label, seconds) in after.items():
        used[label] = used.get(label, 0.0) + seconds - before.get(pid, (label, 0.0))[1]
    return dict(sorted(((k, v) for k, v in used.items() if v >= 0.05), key=lambda kv: -kv[1]))


def _sink_rows(settings, key_id: str, expected: int, wait: float = 60.0) -> int:
    """Rows of this key in the analytics store, once the writer has caught up (or `wait` seconds)."""
    from outscaled.analytics.owner import open_store
    from outscaled.analytics.store import PREDICTIONS, count

    deadline, rows = time.monotonic() + wait, -1
    while time.monotonic() < deadline:
        with open_store(settings) as store:
            rows = count(store, PREDICTIONS, "key_id = {key:String}", {"key": key_id})
        if rows >= expected:
            break
        time.sleep(1.0)
    return rows


def one_run(label: str, environment: dict[str, str], rate: int, seconds: float) -> dict:
    os.environ.update(environment)
    settings = load_settings()
    headers, key_id = {}, None
    if settings.auth:
        from outscaled.platform.keys import create_key

        created = create_key(settings, "reader", f"overhead benchmark {time.strftime('%H:%M:%S')}")
        headers, key_id = {"authorization": f"Bearer {created.key}"}, created.key_id
    with running_service(settings, free_port(), settings.home / "overhead-service.log") as base_url:
        players = [p["name"] for p in httpx.get(f"{base_url}/players?q=&limit=1000", headers=headers).json()["players"]]
        singles, _, _ = workloads(players)
        served = httpx.get(f"{base_url}/models/status", headers=headers).json()["serving"]
        singles = [r for r in singles if r["stat"] in served]
        with httpx.Client(base_url=base_url, headers=headers) as client:
            warm = sum(client.post("/predict/single", json=body).status_code == 200 for body in singles[:300])
        before = cpu_seconds()
        result = run_open_loop(base_url, "/predict/single", singles, rate, seconds, headers=headers)
        cpu = cpu_used(before, cpu_seconds())
        answered = sum(status == 200 for status in result.statuses)
        latencies = np.array(result.latencies) * 1000
        row = {"label": label, "p50": float(np.percentile(latencies, 50)), "p99": float(np.percentile(latencies, 99)),
               "done": len(result.latencies) / result.elapsed, "answered": answered, "errors": result.errors,
               "host": host_speed(), "cpu": cpu}
        if key_id is not None:
            row["sink"] = _sink_rows(settings, key_id, answered + warm)
            row["expected_rows"] = answered + warm
    print(f"{label:8s} {row['done']:5.0f} req/s  p50 {row['p50']:6.2f} ms  p99 {row['p99']:7.2f} ms  "
          f"errors {row['errors']}  ({row['host']})"
          + (f"  sink rows {row['sink']:,} of {row['expected_rows']:,} answered" if "sink" in row else ""),
          flush=True)
    print("         CPU s per s of load: " + ", ".join(f"{k} {v / seconds:.2f}" for k, v in list(cpu.items())[:8]),
          flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args()
    settings = load_settings()
    runs = []
    try:
        for _ in range(args.pairs):
            runs.append(one_run("without", WITHOUT, args.rate, args.seconds))
            runs.append(one_run("with", WITH, args.rate, args.seconds))
    finally:
        if not settings.redis_url:
            stop_embedded(settings)
    pairs = list(zip(runs[0::2], runs[1::2]))
    dp50 = [w["p50"] - o["p50"] for o, w in pairs]
    dp99 = [w["p99"] - o["p99"] for o, w in pairs]
    lost = sum(abs(w["expected_rows"] - w["sink"]) for _, w in pairs)
    print(f"\nadded by the platform layer at {args.rate}/s, per pair: p50 "
          + ", ".join(f"{d:+.2f}" for d in dp50) + " ms; p99 " + ", ".join(f"{d:+.2f}" for d in dp99) + " ms")
    print(f"  p50 {'PASS' if max(dp50) <= 1.0 else 'FAIL'} (<= +1 ms), p99 {'PASS' if max(dp99) <= 2.0 else 'FAIL'}"
          f" (<= +2 ms); rows lost or doubled in the sink: {lost} ({'PASS' if lost == 0 else 'FAIL'})")


if __name__ == "__main__":
    main()
