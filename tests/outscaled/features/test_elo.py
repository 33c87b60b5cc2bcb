"""The Elo rule and its one-pass fold (outscaled.features.elo), the DuckDB function dbt calls, and the line
filter Spark's TRANSFORM runs: all three give the same ratings. The dbt models built on them are checked
against an independent oracle on real data in tests/transforms/test_elo.py and test_player_elo.py."""

import subprocess
import sys

import duckdb
import pytest

from outscaled.features.elo import Rated, Step, expected_score, fold, register_duckdb_functions

K, INITIAL = 24.0, 1500.0
STEPS = [Step(1, 1.0, [1], [2]), Step(2, 0.0, [1], [3]), Step(3, None, [2], [3]),
         Step(4, 1.0, [4, 5, 6], [1, 2]), Step(7, 0.0, [5], [7, 8, 9, 10, 11])]


def test_expected_score_is_symmetric():
    assert expected_score(1600, 1400) + expected_score(1400, 1600) == pytest.approx(1.0)
    assert expected_score(1500, 1500) == 0.5


def test_fold_rates_each_game_with_the_earlier_games_only():
    rated = list(fold(STEPS, K, INITIAL))
    assert rated[0] == Rated(1, INITIAL, INITIAL, K / 2)  # even match: the winner takes K / 2
    after_1, after_2 = INITIAL + K / 2, INITIAL - K / 2
    delta_2 = K * (0.0 - expected_score(after_1, INITIAL))
    assert rated[1] == Rated(2, after_1, INITIAL, delta_2)
    assert rated[2] == Rated(3, after_2, INITIAL - delta_2, 0.0)  # no known winner: nothing changes
    # a side's rating is the mean of its members', new members start at INITIAL
    assert rated[3].before_1 == INITIAL and rated[3].before_2 == ((after_1 + delta_2) + after_2) / 2
    assert rated[4].before_1 == INITIAL + rated[3].delta
    assert rated[4].before_2 == (INITIAL + ((INITIAL + INITIAL) + INITIAL) + INITIAL) / 5 == INITIAL


def test_fold_refuses_games_out_of_order_and_empty_sides():
    with pytest.raises(ValueError, match="out of order"):
        list(fold([Step(2, 1.0, [1], [2]), Step(1, 1.0, [1], [2])], K, INITIAL))
    with pytest.raises(ValueError, match="without rated members"):
        list(fold([Step(1, 1.0, [], [2])], K, INITIAL))


def test_the_duckdb_function_equals_the_fold():
    with duckdb.connect() as connection:
        register_duckdb_functions(connection)
        connection.execute("create table steps (game_number bigint, score_1 double, members_1 bigint[], members_2 bigint[])")
        connection.executemany("insert into steps values (?, ?, ?, ?)", [list(s) for s in reversed(STEPS)])
        rows = connection.sql(f"""select unnest(outscaled_elo_fold(list(struct_pack(game_number := game_number,
                score_1 := score_1, members_1 := members_1, members_2 := members_2) order by game_number),
                {K}, {INITIAL}), recursive := true) from steps""").fetchall()
        empty = connection.sql(f"select outscaled_elo_fold(list(struct_pack(game_number := game_number, score_1 := "
                               f"score_1, members_1 := members_1, members_2 := members_2)), {K}, {INITIAL}) "
                               "from steps where false").fetchone()
    assert [Rated(*r) for r in rows] == list(fold(STEPS, K, INITIAL))
    assert empty == (None,)


def test_the_spark_line_filter_equals_the_fold():
    null = "\\N"  # Spark's text for a null
    lines = "".join(f"{s.game_number}\t{null if s.score_1 is None else s.score_1}\t"
                    f"{' '.join(map(str, s.members_1))}\t{' '.join(map(str, s.members_2))}\n" for s in STEPS)
    result = subprocess.run([sys.executable, "-m", "outscaled.features.elo_stream", str(K), str(INITIAL)],
                            input=lines, capture_output=True, text=True, timeout=60, check=True)
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [Rated(int(g), float(b1), float(b2), float(d)) for g, b1, b2, d in rows] == list(fold(STEPS, K, INITIAL))


def test_the_spark_line_filter_fails_on_games_out_of_order():
    result = subprocess.run([sys.executable, "-m", "outscaled.features.elo_stream", str(K), str(INITIAL)],
                            input="2\t1.0\t1\t2\n1\t1.0\t1\t2\n", capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "out of order" in result.stderr
