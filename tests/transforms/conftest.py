from pathlib import Path

import pytest

from outscaled.config import load_settings
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.catalog import open_catalog
from tests.conftest import SAMPLE_DATA
from tests.transforms.helpers import dbt_build


@pytest.fixture(scope="session")
def built_home(tmp_path_factory) -> Path:
    """The bundled sample ingested and transformed once, shared by the transform tests (read-only)."""
    home = tmp_path_factory.mktemp("built") / "home"
    import os

    previous = os.environ.get("OUTSCALED_HOME")
    os.environ["OUTSCALED_HOME"] = str(home)
    try:
        settings = load_settings()
        ingest_paths(open_catalog(settings), settings.landing_dir, [SAMPLE_DATA], "transform-tests")
    finally:
        if previous is None:
            os.environ.pop("OUTSCALED_HOME", None)
        else:
            os.environ["OUTSCALED_HOME"] = previous
    result = dbt_build(home)
    assert result.returncode == 0, result.stdout[-4000:]
    return home


@pytest.fixture
def built_catalog(built_home, monkeypatch):
    monkeypatch.setenv("OUTSCALED_HOME", str(built_home))
    return open_catalog(load_settings())
