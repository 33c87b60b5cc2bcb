"""What the service tells its operators: Prometheus metrics, JSON logs with a correlation id.

`Observability` is a pure ASGI middleware, the outermost one (bentos/service.py), so it sees every answer,
the gateway's 401/403/429 included. Per request it:
- takes the caller's `X-Request-ID` (up to 64 characters of letters, digits, `-`, `_`, `.`) or makes one,
  leaves it in the scope (`scope["state"]["request_id"]`, `request.state.request_id` in a handler) and
  returns it in the `X-Request-ID` header of the answer;
- times it into `outscaled_http_request_duration_seconds{route}` and counts it in
  `outscaled_http_responses_total{route,status}` (429s also in `outscaled_rate_limited_total{role}`);
- writes one JSON line (`outscaled.access`: time, request id, method, route, status, duration, caller) to
  the service's log file, `$OUTSCALED_HOME/logs/service.jsonl` (every worker appends whole lines to it),
  unless OUTSCALED_ACCESS_LOG=off. Not to stderr: BentoML's arbiter relays its workers' output line by line,
  and at 500 requests a second that relay alone took a whole core (the overhead benchmark: 327 req/s served
  instead of 500).

Routes are labelled by their pattern (`/predict/curve/{player}`), never by the raw path, so a label's
cardinality stays bounded whatever a client sends. The prediction routes add
`outscaled_predictions_total{stat,model_version,arm}` (`count_predictions`). `/metrics` serves the metrics
of every worker: BentoML runs its workers with PROMETHEUS_MULTIPROC_DIR set, and prometheus-client then
keeps each worker's values in files there, which `metrics_text` merges; Redis and analytics-sink health are
gauges set when `/metrics` is scraped (`health_gauges`).
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401  (re-exported for the /metrics route)

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

REQUEST_SECONDS = Histogram("outscaled_http_request_duration_seconds", "Time to answer a request, by route",
                            ["route"], buckets=_BUCKETS)
RESPONSES = Counter("outscaled_http_responses_total", "Answers by route and status code", ["route", "status"])
RATE_LIMITED = Counter("outscaled_rate_limited_total", "Requests refused by the rate limiter (429)", ["role"])
PREDICTIONS = Counter("outscaled_predictions_total", "Stat predictions answered, by model version and arm",
                      ["stat", "model_version", "arm"])
_MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
REDIS_UP = Gauge("outscaled_redis_up", "1 when the feature store (Redis) answers a PING",
                 **({"multiprocess_mode": "max"} if _MULTIPROCESS else {}))
SINK_BACKLOG = Gauge("outscaled_analytics_backlog", "Prediction rows logged and not yet in the analytics store",
                     **({"multiprocess_mode": "max"} if _MULTIPROCESS else {}))
SINK_UP = Gauge("outscaled_analytics_sink_up", "1 when the analytics writer has drained the stream recently",
                **({"multiprocess_mode": "max"} if _MULTIPROCESS else {}))

_ROUTES = (("/predict/curve/", "/predict/curve/{player}"),)
_KNOWN = frozenset({"/", "/health", "/ready", "/metrics", "/predict/single", "/predict/batch", "/predict/match",
                    "/models/status", "/players", "/teams", "/tournaments", "/openapi.json", "/docs.json",
                    "/livez", "/readyz", "/healthz", "/docs"})

access_log = logging.getLogger("outscaled.access")


def route_of(path: str) -> str:
    """The route pattern a path belongs to (a bounded label): unknown paths are all `other`."""
    if path in _KNOWN:
        return path
    for prefix, pattern in _ROUTES:
        if path.startswith(prefix):
            return pattern
    return "/static/*" if path.startswith("/static") else "other"


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID when it is a sensible token, else a new one."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER and _VALID_ID.match(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


def count_predictions(answers: Iterable[dict]) -> None:
    """One count per stat answer (a batch's 404s, which carry no version, are not predictions)."""
    for answer in answers:
        version = answer.get("model_version")
        if version and "stat" in answer:
            PREDICTIONS.labels(answer["stat"], version, answer.get("arm", "champion")).inc()


def health_gauges(redis_ping: Callable[[], bool], sink: Callable[[], tuple[bool, int]] | None) -> None:
    REDIS_UP.set(1.0 if redis_ping() else 0.0)
    if sink is not None:
        up, backlog = sink()
        SINK_UP.set(1.0 if up else 0.0)
        SINK_BACKLOG.set(backlog)


def metrics_text() -> bytes:
    """Every worker's metrics (multiprocess mode under BentoML), or this process's."""
    if _MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY)


def _json_handler(path: Path) -> logging.Handler:
    class JsonLines(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            fields = getattr(record, "fields", None) or {}
            return orjson.dumps({"ts": round(record.created, 3), "level": record.levelname.lower(),
                                 "logger": record.name, "message": record.getMessage(), **fields}).decode()

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")  # append mode: whole lines from every worker
    handler.setFormatter(JsonLines())
    return handler


def configure_logging(path: Path) -> None:
    """JSON lines in `path` for the platform's loggers (`outscaled.*`), once per process."""
    root = logging.getLogger("outscaled")
    if not any(getattr(h, "_outscaled_json", False) for h in root.handlers):
        handler = _json_handler(path)
        handler._outscaled_json = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False


class Observability:
    """ASGI middleware: `Observability(app, log_path=…, access_log=True)`; see the module docstring."""

    def __init__(self, app, log_path: Path, access_log: bool = True):
        self.app = app
        self.access_log = access_log
        configure_logging(log_path)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        correlation = request_id(scope["headers"])
        state = scope.setdefault("state", {})
        state["request_id"] = correlation
        status = [500]

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (REQUEST_ID_HEADER, correlation.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = route_of(scope["path"])
            REQUEST_SECONDS.labels(route).observe(elapsed)
            RESPONSES.labels(route, str(status[0])).inc()
            caller = state.get("caller")
            if status[0] == 429:
                RATE_LIMITED.labels(getattr(caller, "role", "unknown")).inc()
            if self.access_log:
                access_log.info("request", extra={"fields": {
                    "request_id": correlation, "method": scope["method"], "route": route, "status": status[0],
                    "duration_ms": round(elapsed * 1000, 3), "caller": getattr(caller, "id", None)}})
