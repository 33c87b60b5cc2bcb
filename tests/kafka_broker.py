"""A throwaway Apache Kafka broker for the tests of the Kafka stream: Kafka 4.1's own jars from Maven Central
(scripts/kafka.sh puts them in .tools/kafka/libs), one node in KRaft mode (broker and controller) on free
loopback ports, storage in a temporary folder; it dies with the test process (parent-death signal) and is
stopped and removed on exit."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from outscaled.config import PROJECT_ROOT
from outscaled.online.lifecycle import dies_with_this_process

LIBS = PROJECT_ROOT / ".tools" / "kafka" / "libs"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _java(folder: Path, *arguments: str, heap: str = "256m") -> list[str]:
    java = shutil.which("java")
    if not java:
        raise RuntimeError("no java on PATH: install a Java 17 runtime (scripts/system.sh default-jre-headless)")
    return [java, f"-Xmx{heap}", f"-Dkafka.logs.dir={folder / 'logs'}", "-cp", f"{LIBS}/*", *arguments]


@contextmanager
def throwaway_kafka(timeout: float = 60.0) -> Iterator[str]:
    """Yields the broker's bootstrap address (127.0.0.1:PORT) once it accepts connections."""
    if not (LIBS / ".complete").exists():
        raise RuntimeError(f"Kafka's jars are not in {LIBS}: run `bash scripts/kafka.sh` (scripts/test.sh does)")
    folder = Path(tempfile.mkdtemp(prefix="outscaled-kafka-"))
    broker, controller = _free_port(), _free_port()
    properties = folder / "server.properties"
    properties.write_text("\n".join([
        "process.roles=broker,controller", "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller}",
        f"listeners=PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{broker}",
        "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={folder / 'data'}", "num.partitions=1",
        "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1", "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",  # a consumer joins its group at once
        "auto.create.topics.enable=true",
    ]) + "\n")
    cluster = subprocess.run(_java(folder, "kafka.tools.StorageTool", "random-uuid"),
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    formatted = subprocess.run(_java(folder, "kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(properties)),
                               capture_output=True, text=True)
    if formatted.returncode != 0:
        raise RuntimeError(f"formatting Kafka's storage failed: {formatted.stdout[-1500:]}{formatted.stderr[-1500:]}")
    log = (folder / "broker.log").open("w")
    process = subprocess.Popen(_java(folder, "kafka.Kafka", str(properties), heap="512m"),
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               preexec_fn=dies_with_this_process(signal.SIGKILL))
    address = f"127.0.0.1:{broker}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the Kafka broker exited with {process.returncode}: "
                                   f"{(folder / 'broker.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", broker), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Kafka broker did not listen on {address} within {timeout:.0f} s")
                time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
