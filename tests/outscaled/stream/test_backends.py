"""The event-stream interface behaves the same on Redis Streams and on Kafka: what is polled and not
acknowledged comes back after a restart, what is acknowledged never does, and the backlog says so."""

from __future__ import annotations

import time


def _poll_until(stream, count: int, timeout_s: float = 30.0):
    """Polls until `count` deliveries arrived (Kafka's group assignment takes a moment after a restart)."""
    deliveries = []
    deadline = time.monotonic() + timeout_s
    while len(deliveries) < count and time.monotonic() < deadline:
        deliveries += stream.poll(count - len(deliveries), 1.0)
    return deliveries


def test_published_events_are_delivered_once_acknowledged(open_test_stream):
    stream = open_test_stream()
    payloads = [f'{{"n": {i}}}'.encode() for i in range(7)]
    positions = stream.publish(payloads)
    assert len(positions) == len(set(positions)) == 7
    assert stream.backlog() == 7

    deliveries = _poll_until(stream, 7)
    assert sorted(d.payload for d in deliveries) == sorted(payloads)
    assert {d.position for d in deliveries} == set(positions)
    stream.ack(deliveries)
    assert stream.backlog() == 0
    assert stream.poll(10, 1.0) == []


def test_what_was_not_acknowledged_comes_back_after_a_restart(open_test_stream):
    first = open_test_stream()
    payloads = [f'{{"n": {i}}}'.encode() for i in range(6)]
    first.publish(payloads)
    handed = _poll_until(first, 6)
    assert len(handed) == 6
    done = [d for d in handed if d.payload in payloads[:2]]
    first.ack(done)
    first.close()  # a consumer that dies holding four unacknowledged events

    second = open_test_stream()
    again = _poll_until(second, 4)
    assert sorted(d.payload for d in again) == sorted(payloads[2:])
    assert {d.position for d in again} == {d.position for d in handed} - {d.position for d in done}
    second.ack(again)
    assert second.backlog() == 0
    assert second.poll(10, 1.0) == []
