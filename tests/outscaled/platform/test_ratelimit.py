"""The token bucket in Redis (one Lua script): exact under concurrent takers in several processes, refills
at the configured rate, survives a script flush, and parses the per-role settings."""

import asyncio
import multiprocessing
import os
import time

import pytest
import redis
import redis.asyncio

from outscaled.online.redis_server import connect, stop_embedded
from outscaled.platform.ratelimit import AsyncLimiter, Limiter, Rate, bucket_key, parse_rate, purge_buckets


@pytest.fixture
def redis_client(settings):
    """OUTSCALED_TEST_REDIS_URL when given (CI's redis-server), else the embedded server under the test's home."""
    given = os.environ.get("OUTSCALED_TEST_REDIS_URL")
    client = redis.Redis.from_url(given) if given else connect(settings)
    yield client
    if not given:
        stop_embedded(settings)


def _hammer(url: str, bucket: str, rate: Rate, ready, start, seconds: float, results, kind: str) -> None:
    """Takes from the bucket for `seconds`: with the blocking Limiter, or (`kind` "async") as the service's
    gateway does, AsyncLimiter on an event loop with 8 takers at once."""
    if kind == "async":
        asyncio.run(_hammer_async(url, bucket, rate, ready, start, seconds, results))
        return
    limiter = Limiter(redis.Redis.from_url(url))
    limiter.client.ping()
    ready.put(os.getpid())
    start.wait()
    admitted = tried = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        admitted += limiter.take(bucket, rate).admitted
        tried += 1
    results.put((admitted, tried))


async def _hammer_async(url: str, bucket: str, rate: Rate, ready, start, seconds: float, results) -> None:
    limiter = AsyncLimiter(redis.asyncio.Redis.from_url(url))
    await limiter.client.ping()
    ready.put(os.getpid())
    await asyncio.get_running_loop().run_in_executor(None, start.wait)
    deadline = time.monotonic() + seconds

    async def taker() -> tuple[int, int]:
        admitted = tried = 0
        while time.monotonic() < deadline:
            admitted += (await limiter.take(bucket, rate)).admitted
            tried += 1
        return admitted, tried

    counts = await asyncio.gather(*[taker() for _ in range(8)])
    results.put((sum(a for a, _ in counts), sum(t for _, t in counts)))


HEADROOM = 10  # tokens taken before the takers start (10 tokens = 200 ms of refill at 50/s)


def _url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


@pytest.mark.parametrize("kind", ["blocking", "async"])
def test_concurrent_takers_in_several_processes_get_exactly_burst_plus_refill(redis_client, kind):
    """4 processes take as fast as they can for 2 s (blocking, or 8 at once on each one's event loop). What
    was admitted must be what the bucket had at the first take (the burst) plus the refill up to the last
    take, by Redis's own clock, minus what is left: no token given twice, none lost."""
    rate, bucket = Rate(per_second=50.0, burst=100), f"test:hammer:{time.time_ns()}"
    context = multiprocessing.get_context("fork")  # the takers need nothing but redis-py
    ready, start, results = context.Queue(), context.Event(), context.Queue()
    workers = [context.Process(target=_hammer, args=(_url(redis_client), bucket, rate, ready, start, 2.0, results, kind))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)  # every worker imported and connected; the bucket is made by the first take below
    # The bucket is made by the first take and drawn HEADROOM below full before the takers start: refill
    # while they start up is then counted, not lost to the burst cap (a bucket one token short is full again
    # after 20 ms, and the takers on event loops took longer than that to begin).
    limiter = Limiter(redis_client)
    first = limiter.take(bucket, rate)
    assert first.admitted and first.remaining == rate.burst - 1
    started = float(redis_client.hget(bucket_key(bucket), "at"))
    assert all(limiter.take(bucket, rate).admitted for _ in range(HEADROOM - 1))
    start.set()
    counts = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    state = redis_client.hgetall(bucket_key(bucket))
    elapsed, left = float(state[b"at"]) - started, float(state[b"tokens"])
    admitted, tried = HEADROOM + sum(a for a, _ in counts), sum(t for _, t in counts)
    expected = rate.burst + rate.per_second * elapsed
    assert tried > 4 * admitted  # the bucket was empty most of the time: the takers outran the refill
    assert elapsed > 1.9
    assert abs(admitted + left - expected) < 0.01, (admitted, left, expected)
    assert 0 <= left < 1


def test_the_bucket_refills_at_the_rate_and_says_when(redis_client):
    limiter, rate, bucket = Limiter(redis_client), Rate(per_second=10.0, burst=3), f"test:refill:{time.time_ns()}"
    decisions = [limiter.take(bucket, rate) for _ in range(4)]
    assert [d.admitted for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    refused = decisions[3]
    assert refused.retry_after == 1 and refused.limit == 3 and refused.reset == 1
    assert dict(refused.headers())[b"retry-after"] == b"1"
    assert b"retry-after" not in dict(decisions[0].headers())
    time.sleep(0.12)  # > one token's worth (0.1 s)
    assert limiter.take(bucket, rate).admitted
    assert not limiter.take(bucket, rate).admitted
    assert 0 < redis_client.pttl(bucket_key(bucket)) <= 1000 + 300  # gone once it would be full again
    assert purge_buckets(redis_client, [bucket, "test:never"]) == 1


def test_a_flushed_script_is_loaded_again(redis_client):
    limiter, rate = Limiter(redis_client), Rate(per_second=1.0, burst=2)
    bucket = f"test:flush:{time.time_ns()}"
    assert limiter.take(bucket, rate).admitted
    redis_client.script_flush()  # as after a Redis restart: EVALSHA answers NOSCRIPT
    assert limiter.take(bucket, rate).admitted
    assert not limiter.take(bucket, rate).admitted


@pytest.mark.parametrize(("text", "rate"), [
    ("20/s,burst=40", Rate(20.0, 40)), ("600/m", Rate(10.0, 10)), ("1/h", Rate(1 / 3600, 1)),
    (" 5 / s , burst = 7 ", Rate(5.0, 7)), ("off", None),
])
def test_rates_parse(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["20", "20/d", "0/s", "-1/s", "20/s,burst=0", "20/s;burst=4", ""])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text)
