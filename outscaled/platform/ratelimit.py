"""Rate limits: a token bucket per caller in Redis, taken from by one Lua script.

Each caller's bucket holds up to `burst` tokens and refills at `per_second`; a request takes one token or is
refused (429). The whole read-refill-take-write runs as one Lua script (EVALSHA), so concurrent requests
from every worker of every service process see one bucket, and it reads the clock with Redis TIME inside the
script, so workers on machines whose clocks disagree still agree on the refill. (The `limits` library has
fixed and sliding windows, not a token bucket.) A bucket left alone expires once it would be full again:
an absent bucket and a full one are the same thing.

Per role, from the settings: OUTSCALED_RATE_READER / OUTSCALED_RATE_ADMIN, e.g. "20/s,burst=40", "600/m",
or "off". The burst defaults to one second's worth (at least 1).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import redis
import redis.asyncio

from outscaled.config import Settings

BUCKET_PREFIX = "outscaled:ratelimit:"

# KEYS[1]: the bucket; ARGV: burst, tokens per second. Returns {admitted 0/1, tokens left (floor),
# ms until one token is there (0 when admitted), ms until the bucket is full}. Times are written with
# string.format: Lua's own number-to-string keeps 14 digits, which would round the clock to 0.1 ms.
TAKE_SCRIPT = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
local elapsed = now - at
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local admitted = 0
local wait_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  admitted = 1
else
  wait_ms = math.ceil((1 - tokens) / rate * 1000)
end
local full_ms = math.ceil((burst - tokens) / rate * 1000)
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], full_ms + 1000)
return {admitted, math.floor(tokens), wait_ms, full_ms}
"""


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


@dataclass(frozen=True)
class Decision:
    admitted: bool
    limit: int  # the burst: the most requests at once
    remaining: int
    retry_after: int  # whole seconds until a request would be admitted (0 when admitted)
    reset: int  # whole seconds until the bucket is full again

    def headers(self) -> list[tuple[bytes, bytes]]:
        """RateLimit-Limit / -Remaining / -Reset (IETF draft, delta seconds), and Retry-After on a 429."""
        found = [(b"ratelimit-limit", str(self.limit).encode()), (b"ratelimit-remaining", str(self.remaining).encode()),
                 (b"ratelimit-reset", str(self.reset).encode())]
        if not self.admitted:
            found.append((b"retry-after", str(self.retry_after).encode()))
        return found


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*([smh])\s*(?:,\s*burst\s*=\s*(\d+)\s*)?$")


def parse_rate(text: str) -> Rate | None:
    """"20/s,burst=40" -> Rate(20, 40); "off" -> None (no limit)."""
    if text.strip().lower() in ("off", "none", "unlimited"):
        return None
    match = _RATE.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"a rate reads like '20/s,burst=40', '600/m' or 'off', got {text!r}")
    per_second = float(match.group(1)) / _UNITS[match.group(2)]
    burst = int(match.group(3)) if match.group(3) else max(1, math.ceil(per_second))
    if burst < 1:
        raise ValueError(f"a burst is at least 1, got {text!r}")
    return Rate(per_second, burst)


def role_rates(settings: Settings) -> dict[str, Rate | None]:
    return {"reader": parse_rate(settings.rate_reader), "admin": parse_rate(settings.rate_admin)}


def bucket_key(caller_id: str) -> str:
    return BUCKET_PREFIX + caller_id


def _decision(reply: list, rate: Rate) -> Decision:
    admitted, remaining, wait_ms, full_ms = reply
    return Decision(bool(admitted), rate.burst, int(remaining), math.ceil(int(wait_ms) / 1000),
                    math.ceil(int(full_ms) / 1000))


class Limiter:
    """Takes a token from a caller's bucket: one EVALSHA round trip (redis-py loads the script again
    after a Redis restart: NOSCRIPT)."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self._take = client.register_script(TAKE_SCRIPT)

    def take(self, caller_id: str, rate: Rate) -> Decision:
        return _decision(self._take(keys=[bucket_key(caller_id)], args=[rate.burst, repr(rate.per_second)]), rate)


class AsyncLimiter:
    """The same bucket and script for an event loop (the service's gateway): while the round trip waits
    for Redis the worker serves other requests, instead of blocking its loop on the socket."""

    def __init__(self, client: redis.asyncio.Redis):
        self.client = client
        self._take = client.register_script(TAKE_SCRIPT)

    async def take(self, caller_id: str, rate: Rate) -> Decision:
        reply = await self._take(keys=[bucket_key(caller_id)], args=[rate.burst, repr(rate.per_second)])
        return _decision(reply, rate)


def purge_buckets(client: redis.Redis, caller_ids: list[str]) -> int:
    """Deletes the callers' rate-limit state; how many buckets there were."""
    return int(client.delete(*[bucket_key(c) for c in caller_ids])) if caller_ids else 0
