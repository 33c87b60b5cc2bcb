"""The platform runs from a read-only checkout: every write (dbt's manifest, target and logs, the Dagster
instance, the lakehouse, BentoML's model store) goes under OUTSCALED_HOME.

A copy of the repository's files (what git does not ignore, with the project's .venv linked in) is made
read-only, then `outscaled ingest`, `outscaled materialize` of the dbt project and the training of the final
models run there as a user would, from inside the checkout. Root ignores file permissions, so the test also
compares the copy's whole tree (every file and folder, with size and modification time: a file written and
removed again changes its folder) before and after.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from tests.conftest import PROJECT_ROOT


def _copy_checkout(target: Path) -> None:
    """The working tree without what git ignores (build output, environments): a fresh checkout's files."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():  # a tracked file someone deleted in the working tree is not copied
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(PROJECT_ROOT / ".venv")  # the installed environment, not a new one


def _tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Type, size and modification time of every entry under `root` (the .venv link is not followed)."""
    entries = {".": (0, 0, root.stat().st_mtime_ns)}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(folder) / name
            info = path.lstat()
            entries[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns)
    return entries


def _set_writable(root: Path, writable: bool) -> None:
    for folder, folders, files in os.walk(root):
        for path in [Path(folder), *(Path(folder) / name for name in files)]:
            mode = path.lstat().st_mode
            path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_ingest_dbt_build_and_training_write_nothing_into_a_read_only_checkout(home, tmp_path):
    checkout = tmp_path / "checkout"
    _copy_checkout(checkout)
    games = checkout / "data" / "sample" / "lck_lpl_2024_jan_feb.csv"  # the bundled slice: 165 games
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("DAGSTER_HOME", "DBT_TARGET_PATH", "DBT_LOG_PATH", "REDIS_URL", "OUTSCALED_DBT_TARGET"):
        env.pop(name, None)
    python = str(checkout / ".venv" / "bin" / "python")
    _set_writable(checkout, False)
    before = _tree(checkout)
    try:
        for command in (["ingest", str(games)], ["materialize", "--select", "kind:dbt"],
                        ["materialize", "--select", "key:models/stat_line_models"]):
            result = subprocess.run([python, "-m", "outscaled.cli", *command], cwd=checkout, env=env,
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"outscaled {command[0]}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        after = _tree(checkout)
    finally:
        _set_writable(checkout, True)  # so that pytest can remove the copy
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"written into the checkout: {changed[:20]}"
    # the work happened, in the home: the manifest Dagster loaded, each run's dbt output, the tables
    target = load_settings().dbt_target_dir
    assert (target / "manifest.json").is_file()
    assert list(target.glob("*-build/run_results.json")) and list(target.glob("*-build/dbt.log"))
    catalog = open_catalog(load_settings())
    assert catalog.load_table("silver.series").scan().to_arrow().num_rows > 0
    player_games = catalog.load_table("bronze.player_games").scan().to_arrow().num_rows
    assert catalog.load_table("gold.player_features").scan().to_arrow().num_rows == player_games > 0
    # training wrote its models into the home's BentoML store and registry, not the checkout's
    store = load_settings().home / "bentoml" / "models"
    assert any(store.rglob("model.yaml")), f"no model in {store}"
    assert catalog.load_table("gold.model_registry").scan().to_arrow().num_rows > 0
