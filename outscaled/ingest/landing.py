"""The landing area: every input file is copied, unchanged and read-only, under its SHA-256.

Nothing a user hands us is ever lost, even when it is quarantined or fails to parse.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from outscaled.ingest.readers import file_checksum

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".jsonl")  # .jsonl: a landed batch of match-results events


@dataclass(frozen=True)
class LandedFile:
    name: str  # the user's file name, used in messages and in bronze.source_file
    checksum: str
    path: Path  # the read-only copy in the landing area


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files named directly, plus the supported files found (recursively) in folders, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return files


def land(files: list[Path], landing_dir: Path) -> list[LandedFile]:
    landed = []
    for source in files:
        checksum = file_checksum(source)
        target = landing_dir / checksum / source.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(target.suffix + ".partial")
            shutil.copyfile(source, temporary)
            temporary.chmod(0o444)
            temporary.rename(target)
        landed.append(LandedFile(name=source.name, checksum=checksum, path=target))
    return landed


def land_bytes(name: str, data: bytes, landing_dir: Path) -> LandedFile:
    """Land `data` (e.g. a micro-batch of stream events, exactly as received) as the file `name`."""
    checksum = hashlib.sha256(data).hexdigest()
    target = landing_dir / checksum / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".partial")
        temporary.write_bytes(data)
        temporary.chmod(0o444)
        temporary.rename(target)
    return LandedFile(name=name, checksum=checksum, path=target)


def landed_files(landing_dir: Path) -> list[LandedFile]:
    """Everything ever landed, in a stable order."""
    if not landing_dir.exists():
        return []
    return [LandedFile(name=p.name, checksum=p.parent.name, path=p)
            for p in sorted(landing_dir.glob("*/*")) if not p.name.endswith(".partial")]
