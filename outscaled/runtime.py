"""Process set-up shared by the CLI and tests: the Dagster instance lives under OUTSCALED_HOME."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from outscaled.config import PROJECT_ROOT, Settings

SAMPLE_DATA = PROJECT_ROOT / "data" / "sample"


def prepare_dagster_home(settings: Settings) -> Path:
    """Point DAGSTER_HOME at $OUTSCALED_HOME/dagster with the project's dagster.yaml in it."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    source = PROJECT_ROOT / "dagster.yaml"
    target = settings.dagster_home / "dagster.yaml"
    if source.exists() and (not target.exists() or target.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, target)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return settings.dagster_home
