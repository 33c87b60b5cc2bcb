"""The event stream on Apache Kafka (`OUTSCALED_STREAM=kafka://host:port`), with confluent-kafka.

Idempotent producer; the consumer commits offsets itself (never automatically), only after the batch they
end is in bronze, so after a restart the group resumes at the first event not yet stored.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from outscaled.stream.base import GROUP, TOPIC, Delivery

PARTITIONS = 3
JOIN_TIMEOUT_S = 60.0
_COORDINATOR_NOT_READY = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                          KafkaError.COORDINATOR_NOT_AVAILABLE}


class KafkaEventStream:
    def __init__(self, bootstrap: str, topic: str = TOPIC, group: str = GROUP, consumer: str = "bronze-1"):
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.description = f"Kafka at {bootstrap}"
        self._client_id = consumer
        self._producer: Producer | None = None
        self._consumer: Consumer | None = None
        self._assigned = False

    def ensure_topic(self, partitions: int = PARTITIONS, timeout_s: float = 30.0) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        if self.topic in admin.list_topics(timeout=timeout_s).topics:
            return
        futures = admin.create_topics([NewTopic(self.topic, num_partitions=partitions, replication_factor=1)])
        try:
            futures[self.topic].result(timeout_s)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise

    def publish(self, payloads: list[bytes]) -> list[str]:
        if self._producer is None:
            self.ensure_topic()
            self._producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True,
                                       "linger.ms": 5, "compression.type": "lz4",
                                       "message.max.bytes": 4 * 1024 * 1024})
        positions: list[str] = []
        failures: list[str] = []

        def delivered(error, message) -> None:
            if error is not None:
                failures.append(str(error))
            else:
                positions.append(f"{message.partition()}:{message.offset()}")

        for payload in payloads:
            while True:
                try:
                    self._producer.produce(self.topic, payload, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let it drain
                    self._producer.poll(0.1)
            self._producer.poll(0)
        if self._producer.flush(60) != 0 or failures:
            raise RuntimeError(f"Kafka did not take every event: {failures[:3] or 'flush timed out'}")
        return positions

    def _consumer_now(self) -> Consumer:
        if self._consumer is None:
            self.ensure_topic()
            self._consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                                       "client.id": self._client_id, "enable.auto.commit": False,
                                       "auto.offset.reset": "earliest", "fetch.message.max.bytes": 4 * 1024 * 1024,
                                       "session.timeout.ms": 10_000})
            self._assigned = False

            def assigned(consumer, partitions) -> None:
                self._assigned = True

            self._consumer.subscribe([self.topic], on_assign=assigned)
        return self._consumer

    def poll(self, max_events: int, timeout_s: float) -> list[Delivery]:
        """Until the group has handed this consumer its partitions (a moment after a start or a restart), the
        wait is extended up to JOIN_TIMEOUT_S: "nothing yet" then means nothing is there, not "not joined"."""
        consumer = self._consumer_now()
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        while True:
            messages = consumer.consume(num_messages=max_events, timeout=timeout_s)
            if messages or self._assigned or time.monotonic() > deadline:
                break
        deliveries = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(error)
            deliveries.append(Delivery(f"{message.partition()}:{message.offset()}", message.value() or b""))
        return deliveries

    def ack(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        ends: dict[int, int] = {}
        for delivery in deliveries:
            partition, offset = (int(x) for x in delivery.position.split(":"))
            ends[partition] = max(ends.get(partition, -1), offset + 1)
        self._consumer_now().commit(offsets=[TopicPartition(self.topic, p, o) for p, o in sorted(ends.items())],
                                    asynchronous=False)

    def backlog(self, timeout_s: float = 30.0) -> int:
        """Retried while the group's coordinator is still loading (a broker that just started)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self._backlog()
            except KafkaException as error:
                if error.args[0].code() not in _COORDINATOR_NOT_READY or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _backlog(self) -> int:
        probe = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group, "enable.auto.commit": False})
        try:
            metadata = probe.list_topics(self.topic, timeout=10)
            partitions = [TopicPartition(self.topic, p) for p in (metadata.topics[self.topic].partitions or {})]
            committed = probe.committed(partitions, timeout=10)
            total = 0
            for partition in committed:
                low, high = probe.get_watermark_offsets(partition, timeout=10)
                start = partition.offset if partition.offset >= 0 else low
                total += max(0, high - start)
            return total
        finally:
            probe.close()

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(10)
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
