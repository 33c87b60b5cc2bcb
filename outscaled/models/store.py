"""Versioned model bundles in BentoML's model store (under $OUTSCALED_HOME/bentoml by default)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from outscaled.config import Settings
from outscaled.models.backtest import Bundle
from outscaled.models.estimators import StatModel, WinModel
from outscaled.features.schema import PLAYER_FEATURES, STATS, TEAM_FEATURES, schema_hash
from outscaled.models.layers import Layers
from outscaled.models.ranges import RangeCalibration

MODEL_NAME = "outscaled-stat-lines"


def model_store(settings: Settings):
    """BentoML's model store for this home (passed explicitly, so one process can serve several homes)."""
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
    from bentoml._internal.models import ModelStore

    path = settings.home / "bentoml" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return ModelStore(str(path))


def list_versions(settings: Settings) -> list[str]:
    import bentoml

    return sorted(m.tag.version for m in bentoml.models.list(MODEL_NAME, _model_store=model_store(settings)))


def new_version() -> str:
    """Versions sort by creation time; the training window and data snapshot live in the metadata."""
    return "v" + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")


def save_bundle(settings: Settings, bundle: Bundle, version: str, metadata: dict) -> str:
    import bentoml

    labels = {"project": "outscaled", "train_end": bundle.train_end.strftime("%Y-%m-%d")}
    full_metadata = {**metadata, "train_end": bundle.train_end.isoformat(), "rows": bundle.rows,
                     "player_feature_schema": schema_hash(PLAYER_FEATURES),
                     "team_feature_schema": schema_hash(TEAM_FEATURES)}
    with bentoml.models.create(f"{MODEL_NAME}:{version}", labels=labels, metadata=_jsonable(full_metadata),
                               module="outscaled.models.store", _model_store=model_store(settings)) as model:
        root = Path(model.path)
        for stat, stat_model in bundle.stats.items():
            for name, text in stat_model.to_files().items():
                (root / f"{stat}.{name}").write_text(text)
        for name, text in bundle.win.to_files().items():
            (root / f"win.{name}").write_text(text)
        if bundle.layers is not None:
            for name, text in bundle.layers.to_files().items():
                (root / f"layers.{name}").write_text(text)
        if bundle.ranges is not None:
            (root / "ranges.json").write_text(json.dumps(bundle.ranges.to_json()))
    return version


def load_bundle(settings: Settings, version: str) -> Bundle:
    import bentoml

    model = bentoml.models.get(f"{MODEL_NAME}:{version}", _model_store=model_store(settings))
    _check_schemas(version, model.info.metadata)
    root = Path(model.path)
    stats = {stat: StatModel.from_files({n: (root / f"{stat}.{n}").read_text() for n in ("booster.txt", "extra.json")})
             for stat in STATS}
    win = WinModel.from_files({n: (root / f"win.{n}").read_text() for n in ("booster.txt", "extra.json")})
    layers = None
    if (root / "layers.layers.json").exists():  # versions saved before the layers existed have none
        layers = Layers.from_files({n: (root / f"layers.{n}").read_text() for n in Layers.file_names()})
    ranges = None
    if (root / "ranges.json").exists():  # versions saved before the map-range calibration have none
        ranges = RangeCalibration.from_json(json.loads((root / "ranges.json").read_text()))
    return Bundle(stats, win, datetime.fromisoformat(model.info.metadata["train_end"]), int(model.info.metadata["rows"]),
                  layers, ranges)


def _check_schemas(version: str, metadata: dict) -> None:
    """A version trained on other feature columns cannot read today's rows: say so, and how to retrain."""
    current = {"player_feature_schema": schema_hash(PLAYER_FEATURES), "team_feature_schema": schema_hash(TEAM_FEATURES)}
    stale = [name for name, value in current.items() if metadata.get(name, value) != value]
    if stale:
        raise RuntimeError(f"model version {version} was trained on another feature schema ({', '.join(stale)}): "
                           "train again with `outscaled materialize --select key:models/stat_line_models`")


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))
