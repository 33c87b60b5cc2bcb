"""State as of a moment, from the state histories (gold.*_state_history, gold.position_baseline_history).

The state of a subject as of a moment is its latest row whose game started before the moment: for a
series' start that is exactly the state gold.player_features joins (the subject's last game before the
series). The feature snapshot takes every subject as of now (or as of any past moment); the backtest takes
the league's average opponent as of each series' start with the same functions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from outscaled.features.rows import CONCEDED, TEAM_SIDE

# A league's average opponent is the mean of the teams whose latest game before the moment was in that
# league, at most this long before the league's latest game (the teams a player of that league is likely
# to meet next; counted from the league's latest game, so a snapshot long after the data still has them).
ACTIVE_DAYS = 120


def latest_rows(history: pl.DataFrame, by: list[str], as_of: datetime | None) -> pl.DataFrame:
    """Per `by` key, the latest row (game start, then game id, as the state sequence orders games) that
    started before `as_of` (every row when None)."""
    rows = history if as_of is None else history.filter(pl.col("last_game_start") < as_of)
    return rows.sort([*by, "last_game_start", "last_game_id"]).group_by(by, maintain_order=True).last()


def baselines_as_of(history: pl.DataFrame, as_of: datetime | None) -> pl.DataFrame:
    """Per (league, position), the baseline through the latest day before `as_of`'s day (every day when None)."""
    rows = history if as_of is None else history.filter(pl.col("day") < _day(as_of))
    return rows.sort(["league", "position", "day"]).group_by(["league", "position"], maintain_order=True).last()


def conceded_as_of(conceded: pl.DataFrame, teams_as_of: pl.DataFrame) -> pl.DataFrame:
    """What each team concedes per position after its latest game (none when that game has no player rows,
    as gold.player_features, which reads the state after the opponent's last game before the series)."""
    return conceded.join(teams_as_of.select("team_key", "last_game_id"), on=["team_key", "last_game_id"])


def average_opponents(teams: pl.DataFrame, conceded: pl.DataFrame, targets: pl.DataFrame) -> tuple[pl.DataFrame,
                                                                                                  pl.DataFrame]:
    """Per target (league, as_of): the mean TEAM_SIDE of the league's active teams as of that moment, and per
    position their mean CONCEDED. `teams`/`conceded` are the state histories."""
    targets = targets.select("league", pl.col("as_of").cast(pl.Datetime("us"))).unique()
    candidates = (teams.select("team_key", "league").unique()
                  .join(targets, on="league").sort("as_of"))
    history = teams.sort(["last_game_start", "last_game_id"]).rename({"league": "state_league"})
    states = candidates.join_asof(history.with_columns(pl.col("last_game_start").cast(pl.Datetime("us"))),
                                  left_on="as_of", right_on="last_game_start", by="team_key", check_sortedness=False,
                                  strategy="backward", allow_exact_matches=False)
    in_league = states.filter(pl.col("state_league") == pl.col("league"))
    active = in_league.filter(pl.col("last_game_start") >= pl.col("last_game_start").max().over(["league", "as_of"])
                              - timedelta(days=ACTIVE_DAYS))
    sides = active.group_by(["league", "as_of"]).agg([pl.col(c).cast(pl.Float64).mean() for c in TEAM_SIDE])
    against = (active.select("league", "as_of", "team_key", "last_game_id")
               .join(conceded, on=["team_key", "last_game_id"])
               .group_by(["league", "as_of", "position"])
               .agg([pl.col(c).cast(pl.Float64).mean() for c in CONCEDED]))
    return sides.sort(["league", "as_of"]), against.sort(["league", "as_of", "position"])


def _day(moment: datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def with_average_opponent(frame: pl.DataFrame, teams: pl.DataFrame, conceded: pl.DataFrame) -> pl.DataFrame:
    """gold.player_features rows with their opponent's columns replaced by the league's average opponent as
    of the series' start: the rows of a request that names no opponent (the backtest scores them)."""
    targets = frame.select("league", pl.col("series_start").alias("as_of"))
    sides, against = average_opponents(teams, conceded, targets)
    opponent = {c: f"opponent_{c}" for c in TEAM_SIDE}
    concedes = {c: f"opponent_conceded_{c}" for c in CONCEDED[:-1]} | {"games_seen": "opponent_conceded_games"}
    keyed = frame.with_row_index("_row").with_columns(pl.col("series_start").cast(pl.Datetime("us")).alias("as_of"))
    replaced = (keyed.drop(list(opponent.values()) + list(concedes.values()))
                .join(sides.rename(opponent), on=["league", "as_of"], how="left")
                .join(against.rename(concedes), on=["league", "as_of", "position"], how="left")
                .sort("_row"))
    return replaced.select(frame.columns)
