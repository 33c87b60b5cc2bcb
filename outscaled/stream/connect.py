"""The platform's event stream as configured (`OUTSCALED_STREAM`, see outscaled.config)."""

from __future__ import annotations

import redis

from outscaled.config import Settings
from outscaled.stream.base import GROUP, EventStream


def open_stream(settings: Settings, topic: str | None = None, group: str = GROUP, consumer: str = "bronze-1",
                start_redis: bool = True) -> EventStream:
    """Kafka when configured; otherwise Redis Streams on the platform's Redis (the embedded server is started
    when it is not running and `start_redis`) or on the Redis the URL names."""
    topic = topic or settings.stream_topic
    if settings.stream.startswith("kafka://"):
        from outscaled.stream.kafka import KafkaEventStream

        return KafkaEventStream(settings.stream.removeprefix("kafka://").strip("/"), topic, group, consumer)
    from outscaled.stream.redis_streams import RedisEventStream

    if settings.stream == "redis":
        from outscaled.online.redis_server import redis_url, start_embedded

        url = settings.redis_url or (start_embedded(settings) if start_redis else redis_url(settings))
    else:
        url = settings.stream
    # No read timeout: a poll blocks in XREADGROUP for as long as it asks to.
    return RedisEventStream(redis.Redis.from_url(url, socket_connect_timeout=2), topic, group, consumer,
                            f"Redis Streams at {url}")
