"""Who opens the embedded store: chdb lets one process open a data path, so one process owns it at a time.

The owner holds an exclusive lock on `$OUTSCALED_HOME/analytics/owner.lock` (the kernel drops it when the
process dies, SIGKILL included) and answers other processes' queries, commands and inserts on a unix socket
beside it (`owner.sock`, mode 600). The writer is the owner while the service runs; with no writer, whoever
needs the store (`outscaled analytics`, the Dagster asset, `outscaled keys purge`) takes the lock for as long
as it needs it, and a writer starting meanwhile waits for it. With CLICKHOUSE_URL every process talks to the
server itself and nobody owns anything.

Wire format: a request is a 4-byte length and a JSON object ({"op": "query"|"command"|"insert", …}); the answer
is one byte (A: an Arrow IPC stream, J: JSON, E: an error message), an 8-byte length and the payload.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from outscaled.analytics.store import DirectStore, ReadOnlyViolation, StoreUnavailable, connect
from outscaled.config import Settings

OWNER_ANSWER_TIMEOUT = 15.0  # seconds a client waits for an owner that holds the lock but does not answer yet


def _folder(settings: Settings) -> Path:
    folder = settings.home / "analytics"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def socket_path(settings: Settings) -> Path:
    return _folder(settings) / "owner.sock"


class OwnerLock:
    """The exclusive lock on the embedded store (an open file description: per process, not per thread)."""

    def __init__(self, settings: Settings):
        self._file = open(_folder(settings) / "owner.lock", "a+")

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()
        return True

    def release(self) -> None:
        """Unlock (a no-op when not held) and close."""
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


# --- the owner's side ---------------------------------------------------------------------------------------
def _read_exact(connection: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = connection.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the peer closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _arrow_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _answer(store: DirectStore, request: dict) -> tuple[bytes, bytes]:
    op = request.get("op")
    if op == "query":
        table = store.query(request["sql"], request.get("parameters"), bool(request.get("read_only")))
        return b"A", _arrow_bytes(table)
    if op == "command":
        store.command(request["sql"], request.get("parameters"))
        return b"J", b"null"
    if op == "insert":
        return b"J", json.dumps(store.insert(request["table"], request["rows"])).encode()
    raise ValueError(f"unknown operation {op!r}")


class QueryServer:
    """The owner's unix-socket server (a thread per connection) over its own DirectStore."""

    def __init__(self, settings: Settings, store: DirectStore):
        path = socket_path(settings)
        path.unlink(missing_ok=True)  # a dead owner's socket: we hold the lock now

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    (size,) = struct.unpack(">I", _read_exact(self.request, 4))
                    request = json.loads(_read_exact(self.request, size))
                except (ConnectionError, OSError):  # a probe (open_store checking that we answer)
                    return
                try:
                    kind, payload = _answer(store, request)
                except ReadOnlyViolation as error:
                    kind, payload = b"R", str(error).encode()
                except Exception as error:  # the client raises it; the server stays up
                    kind, payload = b"E", str(error).encode()
                try:
                    self.request.sendall(kind + struct.pack(">Q", len(payload)) + payload)
                except OSError:  # the client went away
                    pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self._server = Server(str(path), Handler)
        os.chmod(path, 0o600)
        self._path = path
        self._thread = threading.Thread(target=self._server.serve_forever, name="analytics-server", daemon=True)

    def start(self) -> QueryServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._path.unlink(missing_ok=True)


# --- everyone else's side -----------------------------------------------------------------------------------
class SocketStore:
    """The store through its owner's socket (same calls as DirectStore)."""

    def __init__(self, settings: Settings, timeout: float = OWNER_ANSWER_TIMEOUT):
        self._path, self._timeout = str(socket_path(settings)), timeout

    def _call(self, request: dict) -> tuple[bytes, bytes]:
        body = json.dumps(request, default=str).encode()
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                    connection.settimeout(300)
                    connection.connect(self._path)
                    connection.sendall(struct.pack(">I", len(body)) + body)
                    kind = _read_exact(connection, 1)
                    (size,) = struct.unpack(">Q", _read_exact(connection, 8))
                    payload = _read_exact(connection, size)
                break
            except (FileNotFoundError, ConnectionRefusedError):  # the owner is starting (or just died)
                if time.monotonic() > deadline:
                    raise StoreUnavailable(f"the analytics store's owner does not answer on {self._path}") from None
                time.sleep(0.1)
        if kind == b"R":
            raise ReadOnlyViolation(payload.decode())
        if kind == b"E":
            raise RuntimeError(f"analytics store: {payload.decode()}")
        return kind, payload

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None, read_only: bool = False) -> pa.Table:
        _, payload = self._call({"op": "query", "sql": sql, "parameters": dict(parameters or {}),
                                 "read_only": read_only})
        return pa.ipc.open_stream(payload).read_all()

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self._call({"op": "command", "sql": sql, "parameters": dict(parameters or {})})

    def insert(self, table: str, rows: list[dict]) -> int:
        _, payload = self._call({"op": "insert", "table": table, "rows": rows})
        return int(json.loads(payload))


# Within one process the embedded store is opened once and shared (a second lock would block the first).
_shared_guard = threading.Lock()
_shared: dict[str, Any] = {"store": None, "lock": None, "users": 0, "home": None}


def _owner_answers(settings: Settings) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(socket_path(settings)))
            return True
        except OSError:
            return False


def _take_shared(settings: Settings) -> DirectStore | None:
    """This process's embedded store: the one already open here, or a new one if the lock is free."""
    with _shared_guard:
        if _shared["store"] is not None and _shared["home"] == settings.home:
            _shared["users"] += 1
            return _shared["store"]
        lock = OwnerLock(settings)
        if not lock.try_acquire():
            lock.release()
            return None
        try:
            store = DirectStore(settings, connect(settings))
        except BaseException:
            lock.release()
            raise
        _shared.update(store=store, lock=lock, users=1, home=settings.home)
        return store


def _return_shared(store: DirectStore) -> None:
    with _shared_guard:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            store.close()
            _shared["lock"].release()
            _shared.update(store=None, lock=None, home=None)


@contextmanager
def open_store(settings: Settings, timeout: float = OWNER_ANSWER_TIMEOUT) -> Iterator[DirectStore | SocketStore]:
    """The store for a block: the server at CLICKHOUSE_URL; else chdb in this process when nobody owns it
    (released after the block), or the owner's socket when a writer owns it. Another reader holding it
    briefly is waited for (up to `timeout` seconds)."""
    if settings.clickhouse_url:
        store = DirectStore(settings)
        try:
            yield store
        finally:
            store.close()
        return
    deadline = time.monotonic() + timeout
    while (mine := _take_shared(settings)) is None:
        if _owner_answers(settings):
            yield SocketStore(settings, timeout)
            return
        if time.monotonic() > deadline:
            raise StoreUnavailable(f"the embedded analytics store is held by another process (pid in "
                                   f"{_folder(settings) / 'owner.lock'}) that does not answer on "
                                   f"{socket_path(settings)}")
        time.sleep(0.1)
    try:
        yield mine
    finally:
        _return_shared(mine)


@contextmanager
def owning(settings: Settings, stop: threading.Event, poll: float = 0.2) -> Iterator[DirectStore | None]:
    """The writer's hold on the store until the block exits: the server (CLICKHOUSE_URL), or the embedded
    store with the lock taken (waiting while a reader has it) and its socket answering. Yields None if
    `stop` is set before the lock is free."""
    if settings.clickhouse_url:
        store = DirectStore(settings)  # connects on first use, and again after the server comes back
        try:
            yield store
        finally:
            store.close()
        return
    lock = OwnerLock(settings)
    while not lock.try_acquire():
        if stop.wait(poll):
            lock.release()
            yield None
            return
    store = DirectStore(settings, connect(settings))
    server = QueryServer(settings, store).start()
    try:
        yield store
    finally:
        server.stop()
        store.close()
        lock.release()
