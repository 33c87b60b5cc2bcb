"""What the settings give dbt when nothing is set, checked against the machine itself."""

from pathlib import Path

from outscaled.config import duckdb_memory_limit
from tests.conftest import environment


def _machine_mib() -> int:
    line = next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal:"))
    return int(line.split()[1]) // 1024  # kB


def test_duckdb_gets_half_the_machine_unless_told_otherwise():
    with environment(OUTSCALED_DUCKDB_MEMORY_LIMIT=None):
        default = duckdb_memory_limit()
    assert default.endswith("MiB")
    assert abs(int(default.removesuffix("MiB")) - _machine_mib() / 2) <= 2, (default, _machine_mib())
    with environment(OUTSCALED_DUCKDB_MEMORY_LIMIT="3GB"):
        assert duckdb_memory_limit() == "3GB"
