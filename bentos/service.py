"""`bentoml serve bentos.service:Outscaled`: the champion models over HTTP, features from Redis."""

from __future__ import annotations

import gc
import json
import os
import signal

import bentoml

from bentos.app import app
from outscaled.analytics.log import PredictionLog
from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.models.backtest import Bundle
from outscaled.models.forest import compile_bundle, resolve_engine
from outscaled.models.registry import champions, read_registry
from outscaled.models.store import load_bundle
from outscaled.online.lifecycle import die_with_parent
from outscaled.online.predictor import Models, Predictor
from outscaled.online.redis_server import connect
from outscaled.online.service_process import NOTHING_TO_SERVE
from outscaled.platform.admin import admin_app
from outscaled.platform.middleware import Gateway
from outscaled.platform.observability import Observability

if os.environ.get("OUTSCALED_STOP_WITH_PARENT") == "1":
    # circus starts each worker in a session of its own: without this, a worker whose `bentoml serve`
    # was killed would be re-parented to PID 1 and go on answering on the port.
    die_with_parent(signal.SIGTERM)


def load_served_bundle(settings, version: str) -> Bundle:
    """A model version from the store, its trees loaded into the engine OUTSCALED_INFERENCE picks (the GPU
    bento's nvForest on a CUDA machine, LightGBM otherwise: outscaled.models.forest)."""
    bundle = load_bundle(settings, version)
    compile_bundle(bundle, settings.inference)
    return bundle


def load_models() -> tuple[Models, list[dict]]:
    settings = load_settings()
    registry = read_registry(open_catalog(settings))
    serving = champions(registry)
    if not serving:
        raise RuntimeError(NOTHING_TO_SERVE)
    bundles = {version: load_served_bundle(settings, version) for version in set(serving.values())}
    info = [{"model": r["model"], "version": r["version"], "status": r["status"],
             "train_end": str(r["train_end"]), "metrics": json.loads(r["metrics"] or "{}").get("model", {}),
             "reason": r["reason"]}
            for r in registry.filter(registry["status"].is_in(["champion", "candidate"])).iter_rows(named=True)]
    return Models(bundles, serving), info


SETTINGS = load_settings()


def tracing(settings) -> dict:
    """OpenTelemetry by configuration: OUTSCALED_TRACING=otlp sends every route's spans (sampled at
    OUTSCALED_TRACING_SAMPLE_RATE) to the collector at OTEL_EXPORTER_OTLP_TRACES_ENDPOINT over HTTP; off, the
    prediction routes make no spans at all (they cost CPU even with no exporter)."""
    if settings.tracing == "otlp":
        return {"exporter_type": "otlp", "sample_rate": settings.tracing_sample_rate,
                "otlp": {"protocol": "http", "endpoint": settings.tracing_endpoint}}
    return {"excluded_urls": "predict/single,predict/batch"}


# Server CPU per single prediction on the 2-core box: 2.9 ms with BentoML's defaults, 2.4 ms without the
# Prometheus middleware, 1.95 ms with the prediction routes also left out of OpenTelemetry (plain uvicorn
# + Starlette: 1.7 ms). So access logs are off, metrics are opt-in (OUTSCALED_SERVICE_METRICS=1) and the
# two prediction routes are not traced; one worker per core by default (OUTSCALED_SERVICE_WORKERS).
# BentoML's access log and Prometheus middleware are off: the platform's own (outscaled.platform.observability)
# log JSON lines with a correlation id and serve /metrics for less CPU.
@bentoml.service(name="outscaled", workers=SETTINGS.service_workers, traffic={"timeout": 30},
                 logging={"access": {"enabled": False}}, metrics={"enabled": SETTINGS.service_metrics},
                 tracing=tracing(SETTINGS))
@bentoml.asgi_app(app, path="/")
@bentoml.asgi_app(admin_app(SETTINGS, connect(SETTINGS, start=False)), path="/admin")  # below "/": tried first
class Outscaled:
    """Loads the champion model versions from BentoML's model store and reads features from Redis."""

    def __init__(self) -> None:
        models, info = load_models()
        for bundle in models.bundles.values():
            for model in bundle.stats.values():
                model.explainer_ready()  # tables built and the compiled loop loaded before the first request
        client = connect(SETTINGS, start=False)
        # A split's challenger that this worker has not loaded is loaded in the background (outscaled.online.arms).
        app.state.predictor = Predictor(client, models, loader=lambda version: load_served_bundle(SETTINGS, version))
        # Every prediction to the analytics store: a buffer here, a Redis stream, one writer (outscaled.analytics).
        app.state.prediction_log = PredictionLog(client) if SETTINGS.prediction_log else None
        app.state.model_info = info
        app.state.inference = resolve_engine(SETTINGS.inference)
        # Everything loaded so far lives as long as the service: keep it out of the garbage collector's
        # scans, so collections stay short (they are the tail of the latency distribution).
        gc.collect()
        gc.freeze()
        # A batch of 1,000 answers makes ~50,000 objects: collect the young generation every 20,000
        # allocations instead of every 700 (fewer pauses; p95 of that batch in-process 104 -> 93 ms).
        gc.set_threshold(20_000, 20, 100)


# Keys, roles and rate limits around every route, the mounted app's included (health, readiness, metrics,
# the page and the API docs stay open: outscaled.platform.auth.OPEN_PATHS).
# Outermost (added first): the correlation id, metrics and access log see every answer, the gateway's too.
Outscaled.add_asgi_middleware(Observability, log_path=SETTINGS.home / "logs" / "service.jsonl",
                               access_log=SETTINGS.access_log)
Outscaled.add_asgi_middleware(Gateway, settings=SETTINGS)
