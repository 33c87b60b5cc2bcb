"""Elo: the update rule and its fold over games in time order, in one place.

The dbt project (transforms/models/intermediate/int_team_elo.sql and int_player_elo.sql) calls `fold` on both
engines, through `transforms/macros/elo.sql`: DuckDB as a function the project's dbt plugin registers on its
connection (`register_duckdb_functions`), Spark through `SELECT TRANSFORM` piping the ordered games through
`python -m outscaled.features.elo_stream`. One pass, each game's state a dict lookup: the cost grows with the
number of games, where a fold in SQL copies every rating at every game. The live update
(`outscaled.features.live_state`) continues the same fold with `rate`.

A game's sides are rosters of rated members: team Elo rates one member per side (the team), roster Elo the
side's (up to five) starters. A side's rating is the mean of its members' ratings, summed in the order given;
the winner's members each gain K * (score - expected) and the loser's each lose it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from outscaled.features.project import project_vars


def initial_rating() -> float:
    """The rating every new team or player starts at (the dbt project's `elo_initial_rating`, read from it)."""
    return float(project_vars()["elo_initial_rating"])


def team_k_factor() -> float:
    """K of team Elo (the dbt project's `elo_k_factor`)."""
    return float(project_vars()["elo_k_factor"])


def player_k_factor() -> float:
    """K of roster Elo (the dbt project's `player_elo_k_factor`)."""
    return float(project_vars()["player_elo_k_factor"])


def expected_score(rating: float, opponent_rating: float) -> float:
    """Probability that a team rated `rating` beats one rated `opponent_rating`."""
    return 1.0 / (1.0 + 10.0 ** ((opponent_rating - rating) / 400.0))


class Step(NamedTuple):
    """One game: `score_1` is 1.0 when side 1 won, 0.0 when side 2 won, None when no winner is known."""
    game_number: int
    score_1: float | None
    members_1: Sequence[int]
    members_2: Sequence[int]


class Rated(NamedTuple):
    """Side ratings before the game and the change: side 1's members gain `delta`, side 2's lose it."""
    game_number: int
    before_1: float
    before_2: float
    delta: float


def rate(ratings: dict[int, float] | dict[str, float], step: Step, k_factor: float, initial: float) -> Rated:
    """Rate one game against `ratings` (members not in it start at `initial`) and update `ratings` in place."""
    before = []
    for members in (step.members_1, step.members_2):
        total = 0.0
        for member in members:
            total += ratings.get(member, initial)
        before.append(total / len(members))
    before_1, before_2 = before
    delta = 0.0 if step.score_1 is None else k_factor * (step.score_1 - expected_score(before_1, before_2))
    for members, change in ((step.members_1, delta), (step.members_2, -delta)):
        for member in members:
            ratings[member] = ratings.get(member, initial) + change
    return Rated(step.game_number, before_1, before_2, delta)


def fold(steps: Iterable[Step], k_factor: float, initial: float) -> Iterator[Rated]:
    """Every game rated with the ratings the earlier games left; `steps` in time order (game_number rising)."""
    ratings: dict[int, float] = {}
    last = None
    for step in steps:
        if last is not None and step.game_number <= last:
            raise ValueError(f"Elo steps out of order: game {step.game_number} after {last}")
        last = step.game_number
        if not step.members_1 or not step.members_2:
            raise ValueError(f"game {step.game_number} has a side without rated members")
        yield rate(ratings, step, k_factor, initial)


# --- DuckDB ---------------------------------------------------------------------------------------------

DUCKDB_FUNCTION = "outscaled_elo_fold"


def register_duckdb_functions(connection: Any) -> None:
    """Register `outscaled_elo_fold(steps, k, initial)` on a DuckDB connection: `steps` is one list of
    struct(game_number, score_1, members_1, members_2) in time order, the result the list of Rated structs."""
    import duckdb

    step = duckdb.struct_type({"game_number": "BIGINT", "score_1": "DOUBLE",
                               "members_1": duckdb.list_type("BIGINT"), "members_2": duckdb.list_type("BIGINT")})
    rated = duckdb.struct_type({"game_number": "BIGINT", "before_1": "DOUBLE", "before_2": "DOUBLE",
                                "delta": "DOUBLE"})
    connection.create_function(DUCKDB_FUNCTION, _duckdb_fold, [duckdb.list_type(step), "DOUBLE", "DOUBLE"],
                               duckdb.list_type(rated), type="arrow", side_effects=False)


def _duckdb_fold(step_lists: Any, k_factors: Any, initials: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    names = ("game_number", "before_1", "before_2", "delta")
    columns: list[list] = [[], [], [], []]
    offsets, valid = [0], []
    for row in range(len(step_lists)):
        if step_lists[row].is_valid:
            steps = step_lists[row].values
            inputs = [steps.field(name).to_pylist() for name in ("game_number", "score_1", "members_1", "members_2")]
            for rated in fold((Step(*values) for values in zip(*inputs)),
                              float(k_factors[row].as_py()), float(initials[row].as_py())):
                for column, value in zip(columns, rated):
                    column.append(value)
        valid.append(step_lists[row].is_valid)
        offsets.append(len(columns[0]))
    values = pa.StructArray.from_arrays([pa.array(columns[0], pa.int64())]
                                        + [pa.array(c, pa.float64()) for c in columns[1:]], names=list(names))
    mask = pa.array(~np.array(valid, dtype=bool)) if not all(valid) else None
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, mask=mask)
