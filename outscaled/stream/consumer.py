"""Match-results events into bronze, exactly once in effect: land → ingest → acknowledge.

Each micro-batch is landed unchanged (one event a line, `.jsonl`) in the landing area, with a marker naming
its positions; then it is ingested by the file ingestion's own code (validation, quarantine, de-duplication
by game id, the load log that keeps a half-done load invisible to readers); only then is it acknowledged
and the marker removed. Killed anywhere and restarted, the consumer first finishes every marked batch
(re-ingesting a landed file is a no-op once it is in the ledger) and acknowledges its positions as they are
handed out again; what was never landed is simply delivered again. Nothing is lost, nothing is doubled.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pyiceberg.catalog import Catalog

from outscaled.config import Settings
from outscaled.ingest.merge import MergeResult
from outscaled.ingest.landing import LandedFile, land_bytes
from outscaled.ingest.pipeline import IngestReport, ensure_bronze_tables, ingest_landed
from outscaled.lakehouse.faults import commit_boundary
from outscaled.lakehouse.maintenance import expire_bronze_snapshots
from outscaled.stream.base import Delivery, EventStream, StreamUnavailable

BATCH_EVENTS = 5_000
MAINTAIN_EVERY = 20  # micro-batches between two expiries of old bronze snapshots (outscaled.lakehouse.maintenance)
LANDED = "stream:landed"  # fault-injection boundaries (outscaled.lakehouse.faults), for the kill tests
INGESTED = "stream:ingested"


@dataclass
class BatchReport:
    events: int
    landed: LandedFile
    ingest: IngestReport
    seconds: float
    recovered: bool = False  # a batch landed before a restart, finished now


@dataclass
class ConsumerTotals:
    batches: list[BatchReport] = field(default_factory=list)
    backlog: int = 0  # what the group had left when the consumer stopped

    @property
    def events(self) -> int:
        return sum(b.events for b in self.batches)

    @property
    def games_added(self) -> int:
        return sum(m.games_added for b in self.batches for n, m in b.ingest.merges.items() if n == "player_games")

    def combined(self, load_id: str) -> IngestReport:
        """The batches' ingest reports as one (the bronze asset's metadata of a run that consumed them)."""
        total = IngestReport(load_id)
        for batch in self.batches:
            report = batch.ingest
            total.files_ingested += report.files_ingested
            total.files_skipped += report.files_skipped
            total.files_resumed += report.files_resumed
            total.warnings += report.warnings
            total.rows_read += report.rows_read
            total.quarantined_rows += report.quarantined_rows
            total.seconds += report.seconds
            for reason, count in report.quarantine_reasons.items():
                total.quarantine_reasons[reason] = total.quarantine_reasons.get(reason, 0) + count
            for name, merge in report.merges.items():
                before = total.merges.get(name)
                total.merges[name] = merge if before is None else MergeResult(
                    before.rows_written + merge.rows_written, before.games_added + merge.games_added,
                    before.games_replaced + merge.games_replaced,
                    sorted(set(before.partitions_written) | set(merge.partitions_written)))
        return total


class BronzeConsumer:
    def __init__(self, stream: EventStream, catalog: Catalog, landing_dir: Path, state_dir: Path,
                 batch_events: int = BATCH_EVENTS, on_batch: Callable[[BatchReport], None] = lambda _: None):
        self.stream, self.catalog, self.landing_dir = stream, catalog, landing_dir
        self.inflight = state_dir / "inflight"
        self.batch_events, self.on_batch = batch_events, on_batch
        self._landed_positions: dict[str, Path] = {}  # position -> marker of a landed, unacknowledged batch
        self._recovered = False
        self._batches = 0
        self.redelivered = 0  # positions of batches stored before a restart, acknowledged by the last poll

    def recover(self) -> list[BatchReport]:
        """Finish the batches landed before a restart (ingest is a no-op for those already stored); the
        bronze tables are created first, so that the first micro-batch does not pay for it."""
        ensure_bronze_tables(self.catalog)
        reports = []
        for marker in sorted(self.inflight.glob("*.json")):
            batch = json.loads(marker.read_text())
            landed = LandedFile(batch["name"], batch["checksum"], Path(batch["path"]))
            started = time.perf_counter()
            report = ingest_landed(self.catalog, [landed], _load_id(batch["positions"][0]))
            for position in batch["positions"]:
                self._landed_positions[position] = marker
            reports.append(BatchReport(len(batch["positions"]), landed, report, time.perf_counter() - started, True))
        self._recovered = True
        return reports

    def run_once(self, timeout_s: float = 1.0) -> BatchReport | None:
        """One micro-batch: poll, land, ingest, acknowledge. None when nothing new arrived."""
        if not self._recovered:
            for report in self.recover():
                self.on_batch(report)
        deliveries = self.stream.poll(self.batch_events, timeout_s)
        seen_before = [d for d in deliveries if d.position in self._landed_positions]
        self.redelivered = len(seen_before)
        if seen_before:
            self._acknowledge_landed(seen_before)
        fresh = [d for d in deliveries if d.position not in self._landed_positions]
        if not fresh:
            return None
        started = time.perf_counter()
        landed, marker = self._land(fresh)
        commit_boundary(LANDED)
        report = ingest_landed(self.catalog, [landed], _load_id(fresh[0].position))
        commit_boundary(INGESTED)
        try:
            self.stream.ack(fresh)
        except StreamUnavailable:  # stored, not acknowledged: acknowledged when handed out again
            self._landed_positions.update({d.position: marker for d in fresh})
            raise
        marker.unlink()
        batch = BatchReport(len(fresh), landed, report, time.perf_counter() - started)
        self._batches += 1
        if self._batches % MAINTAIN_EVERY == 0:  # acknowledged already: off the exactly-once path
            expire_bronze_snapshots(self.catalog)
        self.on_batch(batch)
        return batch

    def run(self, idle_s: float | None = None, max_events: int | None = None, timeout_s: float = 1.0,
            stop: Callable[[], bool] = lambda: False) -> ConsumerTotals:
        """Micro-batches until `stop()`, `idle_s` seconds without an event, or `max_events` consumed."""
        totals = ConsumerTotals()
        last_event, first = time.monotonic(), True
        while not stop():
            try:
                batch = self.run_once(timeout_s)
            except StreamUnavailable:
                if idle_s is not None:  # a bounded run reports it; a following one waits for the server
                    raise
                time.sleep(1.0)
                continue
            if batch is not None:
                totals.batches.append(batch)
            # Idle means nothing arrived while subscribed: the clock starts when the first poll returns (a
            # restart's recovery and the group's join can take seconds), and redelivered positions count.
            if batch is not None or self.redelivered or first:
                last_event, first = time.monotonic(), False
            if max_events is not None and totals.events >= max_events:
                break
            if idle_s is not None and time.monotonic() - last_event >= idle_s:
                break
        totals.backlog = self.stream.backlog()
        return totals

    def _land(self, deliveries: list[Delivery]) -> tuple[LandedFile, Path]:
        """The batch exactly as received, one event a line, and its marker (written last, atomically)."""
        data = b"".join(d.payload.replace(b"\n", b" ") + b"\n" for d in deliveries)
        name = f"{self.stream.topic}-{_safe(deliveries[0].position)}-{_safe(deliveries[-1].position)}.jsonl"
        landed = land_bytes(name, data, self.landing_dir)
        self.inflight.mkdir(parents=True, exist_ok=True)
        marker = self.inflight / f"{landed.checksum}.json"
        temporary = marker.with_suffix(".partial")
        temporary.write_text(json.dumps({"name": landed.name, "checksum": landed.checksum, "path": str(landed.path),
                                         "positions": [d.position for d in deliveries]}))
        temporary.rename(marker)
        return landed, marker

    def _acknowledge_landed(self, deliveries: list[Delivery]) -> None:
        self.stream.ack(deliveries)
        markers = {self._landed_positions.pop(d.position) for d in deliveries}
        for marker in markers:
            if not any(m == marker for m in self._landed_positions.values()):
                marker.unlink(missing_ok=True)


def _safe(position: str) -> str:
    return re.sub(r"[^0-9A-Za-z-]", "_", position)


def _load_id(position: str) -> str:
    return f"stream-{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{_safe(position)}"


def consume(settings: Settings, idle_s: float | None = 5.0, batch_events: int | None = None,
            max_events: int | None = None, on_batch: Callable[[BatchReport], None] = lambda _: None,
            stream: EventStream | None = None) -> ConsumerTotals:
    """The configured stream into this home's bronze until idle (None: until SIGTERM/SIGINT, which finish the
    batch in hand first). Its in-flight markers live under `<home>/stream`."""
    from outscaled.lakehouse.catalog import open_catalog
    from outscaled.stream.connect import open_stream

    stream = stream or open_stream(settings)
    stopping = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stopping.set())
    try:
        consumer = BronzeConsumer(stream, open_catalog(settings), settings.landing_dir, settings.home / "stream",
                                  batch_events or BATCH_EVENTS, on_batch)
        return consumer.run(idle_s=idle_s, max_events=max_events, stop=stopping.is_set)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        stream.close()
