"""Shared fixtures: a fresh OUTSCALED_HOME per test, the real data folders, and real-data slices."""

from __future__ import annotations

import os
import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from outscaled.analytics.engine import load_chdb
from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog

# Tests open the embedded analytics store in this process. chdb is loaded now, before pytest switches
# faulthandler on (this conftest is imported first), so a crash anywhere in the run prints its Python traceback.
load_chdb()


def proc_status(path: str | Path, names: tuple[str, ...]) -> dict[str, str]:
    """The named fields of a /proc status file (e.g. "State", "SigBlk": hex signal masks), as the kernel
    writes them; raises OSError when the process is gone."""
    return {name: value.strip() for name, value in (line.split(":\t", 1) for line in Path(path).read_text().splitlines()
                                                    if line.startswith(names))}


def _sigterm_state() -> str:
    """SIGTERM as the kernel sees it for this thread: blocked? ignored? (children inherit both across exec)."""
    fields = proc_status("/proc/thread-self/status", ("SigBlk", "SigIgn"))
    bit = 1 << (signal.SIGTERM - 1)
    return (f"blocked={bool(int(fields['SigBlk'], 16) & bit)} "
            f"ignored={bool(int(fields['SigIgn'], 16) & bit)}")


@pytest.fixture(autouse=True)
def _sigterm_left_as_found(request) -> Iterator[None]:
    """A test (or a library it runs in this process) that leaves SIGTERM blocked or ignored here makes every
    child started later deaf to it: warn, naming the test (the lifecycle tests depend on it)."""
    before = _sigterm_state() if os.path.exists("/proc/thread-self/status") else None
    yield
    if before is not None and (after := _sigterm_state()) != before:
        warnings.warn(f"{request.node.nodeid} changed this process's SIGTERM: {before} -> {after}", stacklevel=1)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = PROJECT_ROOT / "data" / "sample"
SHARED_DATA = (PROJECT_ROOT / ".." / "shared" / "data").resolve()


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (None: unset) environment variables for a block and restore them after; for the session- and
    module-scoped fixtures, which cannot use monkeypatch."""
    previous = {name: os.environ.get(name) for name in values}
    _set_environment(values)
    try:
        yield
    finally:
        _set_environment(previous)


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("OUTSCALED_HOME", str(home))
    monkeypatch.setenv("OUTSCALED_ENV", "ci")
    for name in ("OUTSCALED_CATALOG_URI", "OUTSCALED_WAREHOUSE", "OUTSCALED_WATCH_DIR", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def settings(home: Path):
    return load_settings()


@pytest.fixture
def catalog(settings):
    return open_catalog(settings)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "oracles_elixir").is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA


def slice_games(source: Path, target: Path, games: int | None = None, keep=lambda line: True,
                edit=lambda line: line) -> Path:
    """Copy the header and the raw lines of the first `games` games of a real CSV (bytes unchanged
    unless `edit` changes them: used to build bad input from real rows)."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    seen: list[str] = []
    kept = []
    for line in body:
        game = line.split(",", 2)[1] if header.startswith(",") else line.split(",", 1)[0]
        if game not in seen:
            if games is not None and len(seen) >= games:
                break
            seen.append(game)
        if keep(line):
            kept.append(edit(line))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header + "".join(kept), encoding="utf-8")
    return target


_INGEST = ("import sys; from pathlib import Path; from outscaled.config import load_settings; "
           "from outscaled.lakehouse.catalog import open_catalog; from outscaled.ingest.pipeline import ingest_paths; "
           "s = load_settings(); ingest_paths(open_catalog(s), s.landing_dir, [Path(p) for p in sys.argv[2:]], sys.argv[1])")


def ingest_process(home: Path, load_id: str, paths: list[Path], fault: str | None = None) -> int:
    """A real ingest in a process of its own; `fault` names the commit boundary after which it SIGKILLs
    itself (outscaled.lakehouse.faults). Returns its exit status (-9 when killed)."""
    import subprocess
    import sys

    from outscaled.lakehouse.faults import FAULT_VARIABLE

    environment = {**os.environ, "OUTSCALED_HOME": str(home), "OUTSCALED_ENV": "ci"}
    environment.pop(FAULT_VARIABLE, None)
    if fault:
        environment[FAULT_VARIABLE] = fault
    return subprocess.run([sys.executable, "-c", _INGEST, load_id, *map(str, paths)], cwd=PROJECT_ROOT,
                          env=environment, timeout=300).returncode


def _given_or_throwaway(variable: str, throwaway) -> Iterator[str]:
    """The server the environment variable names, else one `throwaway()` starts for the session."""
    given = os.environ.get(variable)
    if given:
        yield given
        return
    with throwaway() as address:
        yield address


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """OUTSCALED_TEST_POSTGRES_URL when given, else a throwaway PostgreSQL server for the session."""
    from tests.postgres_server import throwaway_postgres

    yield from _given_or_throwaway("OUTSCALED_TEST_POSTGRES_URL", throwaway_postgres)


@pytest.fixture(scope="session")
def kafka_server() -> Iterator[str]:
    """OUTSCALED_TEST_KAFKA when given (host:port), else a throwaway Kafka broker (KRaft) for the session."""
    from tests.kafka_broker import throwaway_kafka

    yield from _given_or_throwaway("OUTSCALED_TEST_KAFKA", throwaway_kafka)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new, empty database (SQLAlchemy URL) for one test."""
    from tests.postgres_server import new_database

    return new_database(postgres_server)


@pytest.fixture(scope="session")
def built_home(tmp_path_factory) -> Path:
    """The bundled sample ingested and transformed once, shared by transform and model tests (read-only)."""
    from outscaled.ingest.pipeline import ingest_paths
    from tests.transforms.helpers import dbt_build

    home = tmp_path_factory.mktemp("built") / "home"
    with environment(OUTSCALED_HOME=str(home)):
        settings = load_settings()
        ingest_paths(open_catalog(settings), settings.landing_dir, [SAMPLE_DATA], "transform-tests")
    result = dbt_build(home)
    assert result.returncode == 0, result.stdout[-4000:]
    return home


@pytest.fixture
def built_catalog(built_home, monkeypatch):
    monkeypatch.setenv("OUTSCALED_HOME", str(built_home))
    return open_catalog(load_settings())


@pytest.fixture(scope="session")
def served_home(built_home) -> Path:
    """built_home plus a champion model (short walk-forward) and a published Redis snapshot.

    Redis is the embedded server under the home, or the server at OUTSCALED_TEST_REDIS_URL (CI runs
    Debian's redis-server and sets it)."""
    from datetime import datetime

    from outscaled.models.pipeline import run_backtest, train_and_register
    from outscaled.models.registry import champions, read_registry
    from outscaled.online.redis_server import connect, stop_embedded
    from outscaled.online.snapshot import publish

    with environment(OUTSCALED_HOME=str(built_home), REDIS_URL=os.environ.get("OUTSCALED_TEST_REDIS_URL")):
        settings = load_settings()
        catalog = open_catalog(settings)
        if not champions(read_registry(catalog)):
            result = run_backtest(catalog, first_month=datetime(2025, 10, 1))
            train_and_register(settings, catalog, result)
        client = connect(settings)
        client.flushdb()
        publish(client, catalog, champions(read_registry(catalog)))
    yield built_home
    if not os.environ.get("OUTSCALED_TEST_REDIS_URL"):
        stop_embedded(settings)  # the embedded redis-server this fixture started


TEST_JWT_SECRET = "tests-only-hs256-secret-of-at-least-32-bytes"
# The session service runs as production does, auth on, plus an HS256 secret for the JWT tests, a reader
# limit the tests never reach (they share one reader key) and a low admin limit for the 429 tests.
SERVICE_ENVIRONMENT = {"OUTSCALED_AUTH": "on", "OUTSCALED_JWT_SECRET": TEST_JWT_SECRET,
                       "OUTSCALED_JWT_AUDIENCE": "outscaled", "OUTSCALED_RATE_READER": "100000/s,burst=100000",
                       "OUTSCALED_RATE_ADMIN": "5/s,burst=10", "OUTSCALED_KEY_CACHE_SECONDS": "1"}
SERVICE_AUTH: dict[str, str] = {}  # {"authorization": "Bearer <the tests' reader key>"} once `service` has started


@pytest.fixture(scope="session")
def service(served_home, tmp_path_factory):
    """One real BentoML server (`bentoml serve`) on loopback for the HTTP tests (tests/bentos, the platform's),
    with the embedded redis-server behind it; yields (base_url, settings). SERVICE_AUTH holds a reader key."""
    from contextlib import ExitStack
    from dataclasses import replace

    from outscaled.models.registry import champions, read_registry
    from outscaled.online.redis_server import connect, stop_embedded
    from outscaled.online.service_process import free_port, running_service
    from outscaled.online.snapshot import publish
    from outscaled.platform.keys import create_key

    with environment(OUTSCALED_HOME=str(served_home), **SERVICE_ENVIRONMENT):
        settings = replace(load_settings(), redis_url=None)
        catalog = open_catalog(settings)
        publish(connect(settings), catalog, champions(read_registry(catalog)))  # the embedded server
        SERVICE_AUTH["authorization"] = "Bearer " + create_key(settings, "reader", "tests").key
        log = tmp_path_factory.mktemp("service") / "service.log"
        stack = ExitStack()
        base_url = stack.enter_context(running_service(settings, free_port(), log))  # started with the env above
    with stack:
        yield base_url, settings
    stop_embedded(settings)


@pytest.fixture
def served_settings(served_home, monkeypatch):
    monkeypatch.setenv("OUTSCALED_HOME", str(served_home))
    if os.environ.get("OUTSCALED_TEST_REDIS_URL"):
        monkeypatch.setenv("REDIS_URL", os.environ["OUTSCALED_TEST_REDIS_URL"])
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    return load_settings()
