"""One small interface over the event stream, whatever carries it: publish, poll a micro-batch, acknowledge.

A delivery's `position` names it in its stream (a Redis entry id, or `partition:offset` on Kafka). Delivery
is at least once: what is polled and not acknowledged comes back to the group after a restart, and the
consumer (`outscaled.stream.consumer`) makes the effect exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

TOPIC = "match-results"
GROUP = "outscaled-bronze"


class StreamUnavailable(RuntimeError):
    """The stream's server cannot be reached right now (a long-running consumer waits and tries again)."""


@dataclass(frozen=True)
class Delivery:
    position: str
    payload: bytes


class EventStream(Protocol):
    topic: str
    description: str  # where the stream lives, for messages ("Redis Streams at unix://…", "Kafka at host:port")

    def publish(self, payloads: list[bytes]) -> list[str]:
        """Append the payloads in order; their positions."""

    def poll(self, max_events: int, timeout_s: float) -> list[Delivery]:
        """Up to `max_events` deliveries for this consumer (what it was handed before and never acknowledged
        first), waiting up to `timeout_s` for the first."""

    def ack(self, deliveries: list[Delivery]) -> None:
        """The group is done with these: they are never delivered again."""

    def backlog(self) -> int:
        """Events published and not yet acknowledged by the group (an upper bound on some backends)."""

    def close(self) -> None: ...
