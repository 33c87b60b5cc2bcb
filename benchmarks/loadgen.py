"""A lean open-loop HTTP/1.1 load generator for loopback benchmarks.

Requests are planned at fixed intervals (rate per second); each is sent on the first free keep-alive
connection at or after its planned time, and its latency is measured from the planned time, so a slow
server cannot hide queueing (no coordinated omission). Raw asyncio streams keep the generator's own
CPU cost low: on a 2-core machine the generator shares the cores with the server it measures.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    latencies: list[float]  # seconds from each request's planned send time to its response, in completion order
    errors: int  # responses that were not 200 (status 0: the connection dropped)
    elapsed: float
    statuses: list[int] = field(default_factory=list)  # per response, same order as `latencies`
    indices: list[int] = field(default_factory=list)  # which planned request (i: sent at i / rate s)
    completed: list[float] = field(default_factory=list)  # when each response arrived, seconds from the start
    started: float = 0.0  # time.perf_counter() at the start (request 0's planned send time)
    service: list[float] = field(default_factory=list)  # per response, its Server-Timing (s; NaN without one)


# The limiter runs on every request (its EVALSHA is part of what is measured) but never refuses one.
BENCHMARK_RATE = "1000000/s,burst=1000000"


def benchmark_headers(settings) -> dict[str, str]:
    """A reader key for this run, sent as a bearer token: the service runs with auth on, as in production
    (OUTSCALED_AUTH=off measures it without). Sets a reader rate the load cannot reach, unless one is set."""
    from outscaled.platform.keys import create_key

    os.environ.setdefault("OUTSCALED_RATE_READER", BENCHMARK_RATE)
    return {"authorization": f"Bearer {create_key(settings, 'reader', 'benchmark').key}"}


def request_bytes(host: str, path: str, body: dict | None = None, headers: dict[str, str] | None = None) -> bytes:
    """One HTTP/1.1 request: a POST of `body` as JSON, or a GET when there is no body."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
    payload = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    return head + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, float]:
    """The status, whether the server closes the connection after this response, and the time the service
    says it spent (its Server-Timing header, seconds; NaN without one)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, closing, service = 0, False, float("nan")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            closing = value.strip().lower() == b"close"
        elif name == b"server-timing" and b"dur=" in value:
            service = float(value.partition(b"dur=")[2].split(b";")[0].split(b",")[0]) / 1000
    if length:
        await reader.readexactly(length)
    return status, closing, service


async def open_loop(base_url: str, path: str, bodies: list[dict], rate: float, seconds: float,
                    connections: int = 64, burst: bool = False, headers: dict[str, str] | None = None) -> LoadResult:
    url = urlsplit(base_url)
    netloc = f"{url.hostname or '127.0.0.1'}:{url.port or 80}"
    return await open_loop_requests(base_url, [request_bytes(netloc, path, b, headers) for b in bodies], rate, seconds,
                                    connections, burst)


async def open_loop_requests(base_url: str, requests: list[bytes], rate: float, seconds: float,
                             connections: int = 64, burst: bool = False) -> LoadResult:
    """Open-loop load of ready-made requests (see `request_bytes`), sent in order, cycling."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    total = int(rate * seconds)
    queue: asyncio.Queue[int] = asyncio.Queue()
    latencies: list[float] = []
    statuses: list[int] = []
    indices: list[int] = []
    completed: list[float] = []
    service: list[float] = []
    errors = 0

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal errors
        try:
            while True:
                i = await queue.get()
                if i < 0:
                    return
                planned = start + i / rate
                writer.write(requests[i % len(requests)])
                try:
                    status, closing, spent = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    status, closing, spent = 0, True, float("nan")
                now = time.perf_counter()
                latencies.append(now - planned)
                completed.append(now - start)
                statuses.append(status)
                indices.append(i)
                service.append(spent)
                errors += status != 200
                if closing:  # the server asked for a new connection (or dropped this one), as HTTP clients do
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    # The pool is opened one connection at a time, as a client's pool grows, so the service's worker
    # processes (which share one listening socket) each accept their share; opened in a burst (`burst`),
    # one worker tends to accept most of them and then serves most of the load (e.g. 43 of 64).
    # Latency is measured from the planned times that follow.
    if burst:
        opened = await asyncio.gather(*(asyncio.open_connection(host, port) for _ in range(connections)))
    else:
        opened = []
        for _ in range(connections):
            opened.append(await asyncio.open_connection(host, port))
            await asyncio.sleep(0.002)
    start = time.perf_counter() + 0.2
    workers = [asyncio.create_task(worker(*pair)) for pair in opened]
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(-1)
    await asyncio.gather(*workers)
    return LoadResult(latencies, errors, time.perf_counter() - start, statuses, indices, completed, start, service)


def run_open_loop(base_url: str, path: str, bodies: list[dict], rate: float, seconds: float,
                  burst: bool = False, headers: dict[str, str] | None = None) -> LoadResult:
    try:
        import uvloop
        return uvloop.run(open_loop(base_url, path, bodies, rate, seconds, burst=burst, headers=headers))
    except ImportError:
        return asyncio.run(open_loop(base_url, path, bodies, rate, seconds, burst=burst, headers=headers))


def run_requests(base_url: str, requests: list[bytes], rate: float, seconds: float,
                 burst: bool = False) -> LoadResult:
    """`run_open_loop` for ready-made requests of any method and path (a mixed workload)."""
    try:
        import uvloop
        return uvloop.run(open_loop_requests(base_url, requests, rate, seconds, burst=burst))
    except ImportError:
        return asyncio.run(open_loop_requests(base_url, requests, rate, seconds, burst=burst))
