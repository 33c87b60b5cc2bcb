"""The event stream on Redis Streams (the default: the platform's own Redis, embedded or REDIS_URL).

One stream key per topic, one consumer group; XREADGROUP hands out entries, XACK retires them. A consumer
that restarts under the same name first re-reads what it was handed and never acknowledged (id 0); entries
left pending by a consumer that never came back are claimed after CLAIM_IDLE_MS (XAUTOCLAIM).
"""

from __future__ import annotations

import functools

import redis

from outscaled.stream.base import GROUP, TOPIC, Delivery, StreamUnavailable

CLAIM_IDLE_MS = 60_000
FIELD = b"event"


def _reachable(method):
    """Redis connection errors as StreamUnavailable (redis-py reconnects on the next command)."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise StreamUnavailable(f"{self.description}: {error}") from error
    return call


def stream_key(topic: str) -> str:
    return f"outscaled:stream:{topic}"


class RedisEventStream:
    def __init__(self, client: redis.Redis, topic: str = TOPIC, group: str = GROUP, consumer: str = "bronze-1",
                 description: str = "Redis Streams"):
        self.client, self.topic, self.group, self.consumer = client, topic, group, consumer
        self.key = stream_key(topic)
        self.description = description
        self._own_pending_read = False
        self._group_ready = False

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    @_reachable
    def publish(self, payloads: list[bytes]) -> list[str]:
        pipe = self.client.pipeline(transaction=False)
        for payload in payloads:
            pipe.xadd(self.key, {FIELD: payload})
        return [p.decode() if isinstance(p, bytes) else p for p in pipe.execute()]

    @_reachable
    def poll(self, max_events: int, timeout_s: float) -> list[Delivery]:
        self._ensure_group()
        if not self._own_pending_read:  # what this consumer was handed before a restart, first
            pending = self._read("0", max_events, None)
            if pending:
                return pending
            self._own_pending_read = True
        claimed = self.client.xautoclaim(self.key, self.group, self.consumer, CLAIM_IDLE_MS, "0-0", count=max_events)
        entries = claimed[1] if claimed else []
        if entries:
            return [Delivery(_text(i), fields[FIELD]) for i, fields in entries if fields and FIELD in fields]
        return self._read(">", max_events, max(1, int(timeout_s * 1000)))

    def _read(self, start: str, count: int, block_ms: int | None) -> list[Delivery]:
        reply = self.client.xreadgroup(self.group, self.consumer, {self.key: start}, count=count, block=block_ms)
        deliveries = []
        for _, entries in reply or []:
            for entry_id, fields in entries:
                if fields and FIELD in fields:  # a pending entry trimmed from the stream has no fields
                    deliveries.append(Delivery(_text(entry_id), fields[FIELD]))
                else:
                    self.client.xack(self.key, self.group, entry_id)
        return deliveries

    @_reachable
    def ack(self, deliveries: list[Delivery]) -> None:
        if deliveries:
            self.client.xack(self.key, self.group, *[d.position for d in deliveries])

    @_reachable
    def backlog(self) -> int:
        self._ensure_group()
        group = next(g for g in self.client.xinfo_groups(self.key) if _text(g["name"]) == self.group)
        pending = int(group["pending"])
        if group.get("lag") is not None:  # Redis 7
            return pending + int(group["lag"])
        last = _text(group["last-delivered-id"])
        return pending + len(self.client.xrange(self.key, f"({last}", "+", count=100_000))

    def close(self) -> None:
        self.client.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
