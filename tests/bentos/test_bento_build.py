"""`bentoml build` packs the service offline (no registry lookups): the CPU bento from bentos/bentofile.yaml and
the GPU bento (its own name and versions, nvForest in its requirements, a CUDA image) from bentofile.gpu.yaml."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from outscaled.config import PROJECT_ROOT

BENTOML = str(Path(sys.executable).parent / "bentoml")
COMMON_REQUIREMENTS = {"lightgbm==4.7.0", "numba==0.68.1", "hiredis==3.5.0"}


def _build(tmp_path: Path, bentofile: str, name: str) -> tuple[dict, Path]:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"}
    result = subprocess.run([BENTOML, "build", "-f", bentofile, "."], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [bento] = list((tmp_path / "bentoml" / "bentos" / name).glob("*/bento.yaml"))
    built = yaml.safe_load(bento.read_text())
    assert built["service"] == "bentos.service:Outscaled"
    assert {"/predict/single", "/predict/batch", "/models/status"} <= set(built["schema"]["paths"])
    source = bento.parent / "src"
    assert (source / "bentos" / "app.py").is_file() and (source / "outscaled" / "models" / "forest.py").is_file()
    return built, bento.parent


def _requirements(bento: Path) -> set[str]:
    lines = (bento / "env" / "python" / "requirements.txt").read_text().splitlines()
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def test_bentofile_builds_offline(tmp_path):
    built, bento = _build(tmp_path, "bentos/bentofile.yaml", "outscaled")
    requirements = _requirements(bento)
    assert COMMON_REQUIREMENTS <= requirements
    assert not any(r.startswith("nvforest") for r in requirements)  # the CPU bento stays small


def test_gpu_bento_builds_offline_as_its_own_bento(tmp_path):
    built, bento = _build(tmp_path, "bentos/bentofile.gpu.yaml", "outscaled-gpu")
    assert built["name"] == "outscaled-gpu" and built["labels"]["accelerator"] == "nvidia-gpu"
    assert COMMON_REQUIREMENTS | {"nvforest-cu12==26.10.0", "treelite==4.7.0"} <= _requirements(bento)
    assert [(e["name"], e["value"]) for e in built["envs"]] == [("OUTSCALED_INFERENCE", "auto")]
    assert built["docker"]["cuda_version"] == "12.8.1"
