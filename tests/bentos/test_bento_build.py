"""`bentoml build` packs the service from bentos/bentofile.yaml offline (no registry lookups)."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from outscaled.config import PROJECT_ROOT

BENTOML = str(Path(sys.executable).parent / "bentoml")


def test_bentofile_builds_offline(tmp_path):
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"}
    result = subprocess.run([BENTOML, "build", "-f", "bentos/bentofile.yaml", "."], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [bento] = list((tmp_path / "bentoml" / "bentos" / "outscaled").glob("*/bento.yaml"))
    built = yaml.safe_load(bento.read_text())
    assert built["service"] == "bentos.service:Outscaled"
    assert {"/predict/single", "/predict/batch", "/models/status"} <= set(built["schema"]["paths"])
    source = bento.parent / "src"
    assert (source / "bentos" / "app.py").is_file() and (source / "outscaled" / "online" / "predictor.py").is_file()
    requirements = (bento.parent / "env" / "python" / "requirements.txt").read_text()
    assert {"lightgbm==4.7.0", "numba==0.68.1", "hiredis==3.5.0"} <= set(requirements.split())
