"""`python -m outscaled.features.elo_stream K INITIAL`: Elo's fold (outscaled.features.elo) as a line filter, for
Spark's `SELECT TRANSFORM` (transforms/macros/elo.sql).

Reads one game per line, tab-separated as Spark writes them: game_number, score_1 (`\\N` for no winner),
side 1's and side 2's members as space-separated numbers; in time order (the macro sends every game to one
partition, sorted), which the fold checks. Writes game_number, before_1, before_2 and delta per line, the
floats in Python's shortest round-trip form (Spark parses them back exactly).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TextIO

from outscaled.features.elo import Step, fold

SPARK_NULL = "\\N"


def read_steps(lines: TextIO) -> Iterator[Step]:
    for line in lines:
        game_number, score_1, members_1, members_2 = line.rstrip("\n").split("\t")
        yield Step(int(game_number), None if score_1 == SPARK_NULL else float(score_1),
                   [int(m) for m in members_1.split()], [int(m) for m in members_2.split()])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m outscaled.features.elo_stream K INITIAL", file=sys.stderr)
        return 2
    k_factor, initial = float(argv[0]), float(argv[1])
    write = sys.stdout.write
    for rated in fold(read_steps(sys.stdin), k_factor, initial):
        write(f"{rated.game_number}\t{rated.before_1!r}\t{rated.before_2!r}\t{rated.delta!r}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
