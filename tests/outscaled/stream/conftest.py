"""The event stream on each backend the platform supports, each the real thing: Redis Streams on a real
redis-server (OUTSCALED_TEST_REDIS_URL, or the embedded one under the test's home) and Kafka on a real
broker (tests/kafka_broker.py). Each test gets a topic of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from outscaled.stream.base import EventStream


@pytest.fixture(params=["redis", "kafka"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def stream_url(backend: str, settings, request) -> str:
    """What OUTSCALED_STREAM is set to for this backend."""
    if backend == "kafka":
        return "kafka://" + request.getfixturevalue("kafka_server")
    given = os.environ.get("OUTSCALED_TEST_REDIS_URL")
    if given:
        return given
    from outscaled.online.redis_server import start_embedded, stop_embedded

    url = start_embedded(settings)
    request.addfinalizer(lambda: stop_embedded(settings))
    return url


@pytest.fixture
def topic() -> str:
    return f"match-results-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def open_test_stream(stream_url: str, topic: str) -> Iterator[Callable[..., EventStream]]:
    """Opens the stream (as many times as a test restarts its consumer); everything opened is closed after."""
    opened: list[EventStream] = []

    def open_one(group: str = "outscaled-bronze", consumer: str = "bronze-1") -> EventStream:
        if stream_url.startswith("kafka://"):
            from outscaled.stream.kafka import KafkaEventStream

            stream: EventStream = KafkaEventStream(stream_url.removeprefix("kafka://"), topic, group, consumer)
        else:
            from outscaled.stream.redis_streams import RedisEventStream

            stream = RedisEventStream(redis.Redis.from_url(stream_url), topic, group, consumer)
        opened.append(stream)
        return stream

    yield open_one
    for stream in opened:
        stream.close()
