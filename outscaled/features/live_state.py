"""The live state update: the state histories the snapshot reads, brought up to date for the games in bronze
that the last dbt build has not seen, recomputing only the players, teams and leagues those games touch.

The full rebuild (dbt, transforms/) stays the definition: this module computes the same columns with the same
rules (the staging keys of stg_player_games/stg_team_games, rolling means and the 20-game EWM of
macros/features.sql, the Elo rule of int_team_elo.sql and int_player_elo.sql (outscaled.features.elo), the daily
baselines of int_position_baseline_daily.sql),
for the touched subjects only, and tests/outscaled/features/test_live_state.py proves the result equal to a
full rebuild on the same games. Nothing here is written to the lakehouse: the live rows are derived from
bronze and the last build, and the next full build (the refresh job) supersedes them.

Elo is a fold over every game in time order; the update continues it from each team's (and, for roster Elo,
each player's) rating after its last built game. That is exact when the new games are later than every built
game of their teams; a late game (older than a team's last built one) is reported in `LiveState.late_games`,
and the ratings of those teams and their players are then approximate until the next full build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import polars as pl

from outscaled.features.elo import Step, initial_rating, player_k_factor, rate, team_k_factor
from outscaled.features.project import recent_level_days
from outscaled.features.schema import PLAYER_STATS, TEAM_STATS

# dbt_project.yml's vars (the one place they are set), read here as written there
EWM_ALPHA = 0.25
EWM_SPAN = 20
PLAYER_WINDOWS = (3, 5, 10, 20)
TEAM_WINDOWS = (5, 10, 20)
CONCEDED_WINDOWS = (10,)
CONCEDED_STATS = ("kills", "deaths", "assists", "cs")

HISTORY_TABLES = ("gold.player_state_history", "gold.team_state_history", "gold.team_conceded_state_history",
                  "gold.position_baseline_history", "gold.patches")
GAME_COLUMNS = ("patch", "game_start", "league", "champion")  # of gold.player_features, for league patches
# What the update reads of bronze (as readers see it)
BRONZE_PLAYER_COLUMNS = ["game_id", "player_name", "team_name", "position", "side", "champion", "league", "patch",
                         "date", "kills", "deaths", "assists", "team_kills", "total_cs", "damage_share",
                         "earned_gold_share"]
BRONZE_TEAM_COLUMNS = ["game_id", "team_name", "side", "league", "patch", "date", "game_length", "result", "kills",
                       "deaths", "team_kills", "team_deaths"]


@dataclass
class LiveState:
    """The snapshot's input tables with the live rows merged in, and what the update did."""

    tables: dict[str, pl.DataFrame]
    new_games: list[str] = field(default_factory=list)
    players: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    leagues: list[str] = field(default_factory=list)
    late_games: list[str] = field(default_factory=list)


# --- staging, as transforms/models/staging ------------------------------------------------------------------
def _lowered(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars(" ").str.to_lowercase()


def _team_key(frame_team: str = "team_name") -> pl.Expr:
    """macros/engine.sql team_key(): the normalised name; the "unknown team" placeholder per game and side."""
    unknown = pl.col(frame_team).is_null() | _lowered(frame_team).is_in(["unknown team", "unknown"])
    return (pl.when(unknown).then(pl.concat_str([pl.lit("unknown:"), pl.col("game_id"), pl.lit(":"),
                                                 pl.col("side").fill_null("")]))
            .otherwise(_lowered(frame_team)))


def stage_player_games(bronze: pl.DataFrame) -> pl.DataFrame:
    """stg_player_games: one row per player per game keyed by normalised name (told apart within a game by
    team, then position, when a name appears twice)."""
    unknown = pl.col("player_name").is_null() | _lowered("player_name").is_in(["unknown player", "unknown"])
    named = bronze.with_columns(
        pl.when(unknown).then(pl.concat_str([pl.lit("unknown:"), pl.col("game_id"), pl.lit(":"),
                                             pl.col("side").fill_null(""), pl.lit(":"), pl.col("position"),
                                             pl.lit(":"), pl.col("team_name").fill_null("")]))
        .otherwise(_lowered("player_name")).alias("name_key"),
        _team_key().alias("team_key"))
    return named.select(
        "game_id",
        pl.when(pl.len().over(["game_id", "name_key", "team_key"]) > 1)
        .then(pl.concat_str(["name_key", pl.lit("@"), "team_key", pl.lit("@"), "position"]))
        .when(pl.len().over(["game_id", "name_key"]) > 1).then(pl.concat_str(["name_key", pl.lit("@"), "team_key"]))
        .otherwise(pl.col("name_key")).alias("player_key"),
        "player_name", "team_key", "team_name", "position", "side", "champion", "league", "patch",
        pl.col("date").alias("game_start"),
        pl.col("kills").cast(pl.Float64), pl.col("deaths").cast(pl.Float64), pl.col("assists").cast(pl.Float64),
        pl.col("total_cs").cast(pl.Float64).alias("cs"), pl.col("damage_share").cast(pl.Float64),
        pl.col("earned_gold_share").cast(pl.Float64).alias("gold_share"),
        pl.when(pl.col("team_kills") > 0)
        .then((pl.col("kills") + pl.col("assists")).cast(pl.Float64) / pl.col("team_kills"))
        .alias("kill_participation"))


def stage_team_games(bronze: pl.DataFrame) -> pl.DataFrame:
    """stg_team_games joined as int_team_games needs it: the games with both teams (int_games), each team's
    opponent, win, kills, deaths and minutes."""
    teams = bronze.filter(pl.col("team_name").is_not_null()).select(
        "game_id", _team_key().alias("team_key"), "team_name", "side", "league", "patch",
        pl.col("date").alias("game_start"),
        pl.col("result").cast(pl.Float64).alias("win"), pl.col("result"),
        pl.coalesce("team_kills", "kills").cast(pl.Float64).alias("kills"),
        pl.coalesce("team_deaths", "deaths").cast(pl.Float64).alias("deaths"),
        (pl.col("game_length").cast(pl.Float64) / 60).alias("game_minutes"))
    slotted = teams.sort(["game_id", "team_key", "side"], nulls_last=False).with_columns(
        pl.int_range(pl.len()).over("game_id").alias("_slot"))
    first = slotted.filter(pl.col("_slot") == 0).select("game_id", pl.col("team_key").alias("team_1"),
                                                        pl.col("result").alias("result_1"))
    second = slotted.filter(pl.col("_slot") == 1).select("game_id", pl.col("team_key").alias("team_2"),
                                                         pl.col("result").alias("result_2"))
    games = first.join(second, on="game_id")  # int_games: a game needs its two teams
    games = games.with_columns(
        pl.when(pl.col("result_1") == 1).then(pl.col("team_1"))
        .when(pl.col("result_2") == 1).then(pl.col("team_2")).alias("winner"))
    paired = teams.join(games.select("game_id", "team_1", "team_2", "winner"), on="game_id")
    return paired.with_columns(
        pl.when(pl.col("team_1") == pl.col("team_key")).then(pl.col("team_2")).otherwise(pl.col("team_1"))
        .alias("opponent_key"))


# --- rolling state, as macros/features.sql --------------------------------------------------------------
def _rolling_state(frame: pl.DataFrame, stats: tuple[str, ...] | list[str], by: list[str],
                   windows: tuple[int, ...]) -> pl.DataFrame:
    """`frame` sorted by `by` then its order: per stat, the mean of the last w rows (nulls skipped) for each
    window and the EWM over the last EWM_SPAN rows, summed in the macros' order."""
    lags = max(max(windows), EWM_SPAN)
    lagged = frame.with_columns([pl.col(s).shift(k).over(by).alias(f"_{s}_{k}") for s in stats for k in range(1, lags)])
    columns = []
    for stat in stats:
        values = [pl.col(stat) if k == 0 else pl.col(f"_{stat}_{k}") for k in range(lags)]
        for w in windows:
            total, count = pl.lit(0.0), pl.lit(0)
            for value in values[:w]:
                total = total + value.fill_null(0.0)
                count = count + value.is_not_null().cast(pl.Int64)
            columns.append(pl.when(count > 0).then(total / count).alias(f"{stat}_avg_{w}"))
        numerator, denominator = None, None
        for k, value in enumerate(values[:EWM_SPAN]):
            weight = (1 - EWM_ALPHA) ** k
            term = (value * weight).fill_null(0.0)
            present = pl.when(value.is_not_null()).then(pl.lit(weight)).otherwise(pl.lit(0.0))
            numerator = term if numerator is None else numerator + term
            denominator = present if denominator is None else denominator + present
        columns.append((numerator / pl.when(denominator != 0).then(denominator)).alias(f"{stat}_ewm"))
    helpers = [c for c in lagged.columns if c.startswith("_") and c not in frame.columns]
    return lagged.with_columns(columns).drop(helpers)


def player_histories(staged: pl.DataFrame, elo: pl.DataFrame) -> pl.DataFrame:
    """gold.player_state_history's rows of the players in `staged` (all their games)."""
    ordered = staged.sort(["player_key", "game_start", "game_id"]).with_columns(
        pl.int_range(1, pl.len() + 1).over("player_key").cast(pl.Int64).alias("games_played"))
    state = _rolling_state(ordered, PLAYER_STATS, ["player_key"], PLAYER_WINDOWS)
    state = state.join(elo, on=["game_id", "player_key"], how="left")
    return state.select("player_key", "player_name", "team_key", "team_name", "position", "league",
                        pl.col("game_start").alias("last_game_start"), "games_played",
                        *[f"{s}_{w}" for s in PLAYER_STATS for w in (*[f"avg_{x}" for x in PLAYER_WINDOWS], "ewm")],
                        "elo", pl.col("game_id").alias("last_game_id"))


def team_histories(team_games: pl.DataFrame, elo: pl.DataFrame, roster_elo: pl.DataFrame) -> pl.DataFrame:
    """gold.team_state_history's rows of the teams in `team_games`; `elo` holds (game_id, team_key, elo),
    `roster_elo` (game_id, team_key, roster_elo)."""
    ordered = team_games.sort(["team_key", "game_start", "game_id"]).with_columns(
        pl.int_range(1, pl.len() + 1).over("team_key").cast(pl.Int64).alias("games_played"))
    state = _rolling_state(ordered, TEAM_STATS, ["team_key"], TEAM_WINDOWS)
    state = state.join(elo, on=["game_id", "team_key"], how="left").join(roster_elo, on=["game_id", "team_key"],
                                                                       how="left")
    return state.select("team_key", "team_name", "league", pl.col("game_start").alias("last_game_start"),
                        "games_played",
                        *[f"{s}_{w}" for s in TEAM_STATS for w in (*[f"avg_{x}" for x in TEAM_WINDOWS], "ewm")],
                        "elo", "roster_elo", pl.col("game_id").alias("last_game_id"))


def conceded_histories(team_games: pl.DataFrame, players: pl.DataFrame) -> pl.DataFrame:
    """gold.team_conceded_state_history's rows of the teams in `team_games`: the opposing player's stats per
    position, rolling over the team's games."""
    ordered = team_games.sort(["team_key", "game_start", "game_id"]).with_columns(
        pl.int_range(1, pl.len() + 1).over("team_key").alias("seq"))
    conceded = ordered.select("team_key", "seq", "game_id", "game_start", "opponent_key").join(
        players.select("game_id", pl.col("team_key").alias("opponent_key"), "position", *CONCEDED_STATS),
        on=["game_id", "opponent_key"])
    conceded = conceded.sort(["team_key", "position", "seq"])
    state = _rolling_state(conceded, CONCEDED_STATS, ["team_key", "position"], CONCEDED_WINDOWS)
    state = state.with_columns(pl.int_range(1, pl.len() + 1).over(["team_key", "position"]).cast(pl.Int64)
                               .alias("games_seen"))
    return state.select("team_key", "position", pl.col("game_start").alias("last_game_start"),
                        *[f"{s}_{w}" for s in CONCEDED_STATS for w in (*[f"avg_{x}" for x in CONCEDED_WINDOWS], "ewm")],
                        "games_seen", pl.col("game_id").alias("last_game_id"))


def baseline_histories(players: pl.DataFrame) -> pl.DataFrame:
    """gold.position_baseline_history's rows of the leagues in `players`: per day with games, the means
    and the recent levels through the end of that day."""
    daily = (players.filter(pl.col("position") != "team")
             .with_columns(pl.col("game_start").dt.date().alias("day"))
             .group_by(["league", "position", "day"])
             .agg(pl.len().alias("n"), *[pl.col(s).sum().alias(f"sum_{s}") for s in PLAYER_STATS],
                  *[pl.col(s).count().alias(f"n_{s}") for s in PLAYER_STATS])
             .sort(["league", "position", "day"]))
    by = ["league", "position"]
    # macros/features.sql::recency_weight: exp(days since 2020-01-01 / recent_level_days)
    weight = ((pl.col("day") - pl.date(2020, 1, 1)).dt.total_days().cast(pl.Float64) / recent_level_days()).exp()

    def cumulative_mean(total: pl.Expr, count: pl.Expr) -> pl.Expr:
        return total.cum_sum().over(by) / pl.when(count.cum_sum().over(by) != 0).then(count.cum_sum().over(by))

    return daily.select(
        "league", "position", "day",
        *[cumulative_mean(pl.col(f"sum_{s}"), pl.col(f"n_{s}")).alias(f"baseline_{s}") for s in PLAYER_STATS],
        *[cumulative_mean(pl.col(f"sum_{s}") * weight, pl.col(f"n_{s}") * weight).alias(f"recent_{s}")
          for s in CONCEDED_STATS],
        pl.col("n").cum_sum().over(by).cast(pl.Float64).alias("baseline_games"))


def continue_elo(team_games: pl.DataFrame, new_games: set[str], ratings: dict[str, float],
                 last_built: dict[str, tuple]) -> tuple[pl.DataFrame, list[str]]:
    """int_team_elo's fold continued over the new games in time order from `ratings` (each team's rating after
    its last built game); (game_id, team_key, elo after) and the new games older than a team's last built one."""
    games = (team_games.filter(pl.col("game_id").is_in(list(new_games)))
             .select("game_id", "game_start", "team_1", "team_2", "winner").unique("game_id")
             .sort(["game_start", "game_id"]))
    rows, late = [], []
    current = dict(ratings)
    k_factor, initial = team_k_factor(), initial_rating()
    for number, (game_id, start, team_1, team_2, winner) in enumerate(games.iter_rows()):
        if any(t in last_built and last_built[t][0] is not None and (start, game_id) < last_built[t]
               for t in (team_1, team_2)):
            late.append(game_id)
        score_1 = 1.0 if winner == team_1 else 0.0 if winner == team_2 else None
        rated = rate(current, Step(number, score_1, [team_1], [team_2]), k_factor, initial)
        rows += [(game_id, team_1, rated.before_1 + rated.delta), (game_id, team_2, rated.before_2 - rated.delta)]
    return pl.DataFrame(rows, schema={"game_id": pl.String, "team_key": pl.String, "elo": pl.Float64},
                        orient="row"), late


def starters(team_1: str, team_2: str, players: list[tuple[str, str, str]]) -> tuple[list[str], list[str]]:
    """int_roster_starters.sql: each side's (up to five) starters in (position, player_key) order, from a game's
    (team_key, position, player_key) player rows; a player row's team that is neither team is the other side
    when the game's player rows name exactly two teams."""
    named: dict[str, list[tuple[str, str]]] = {}
    for team_key, position, player_key in players:
        named.setdefault(team_key, []).append((position, player_key))
    slots = {team_1: 1, team_2: 2}
    direct = [slots[k] for k in named if k in slots]
    sides: dict[int, list[tuple[str, str]]] = {1: [], 2: []}
    for key, rows in named.items():
        slot = slots.get(key) or (3 - direct[0] if len(named) == 2 and len(direct) == 1 else None)
        if slot is not None:
            sides[slot] += rows
    return ([p for _, p in sorted(sides[1])][:5], [p for _, p in sorted(sides[2])][:5])


def continue_roster_elo(team_games: pl.DataFrame, players: pl.DataFrame, new_games: set[str],
                        ratings: dict[str, float]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """int_player_elo's fold continued over the new games in time order from `ratings` (each player's rating
    after their last built game): (game_id, team_key, roster_elo) of each side of a rated game, and (game_id,
    player_key, elo) of every player of a new game who has a rating after it (gold.player_state_history.elo)."""
    new = list(new_games)
    games = (team_games.filter(pl.col("game_id").is_in(new))
             .select("game_id", "game_start", "team_1", "team_2", "winner").unique("game_id")
             .sort(["game_start", "game_id"]))
    rows_of: dict[str, list[tuple[str, str, str]]] = {}
    for game_id, team_key, position, player_key in (players.filter(pl.col("game_id").is_in(new))
                                                    .select("game_id", "team_key", "position", "player_key")
                                                    .iter_rows()):
        rows_of.setdefault(game_id, []).append((team_key, position, player_key))
    current = dict(ratings)
    k_factor, initial = player_k_factor(), initial_rating()
    rosters, player_rows = [], []
    for number, (game_id, _, team_1, team_2, winner) in enumerate(games.iter_rows()):
        members_1, members_2 = starters(team_1, team_2, rows_of.get(game_id, []))
        if members_1 and members_2:
            score_1 = 1.0 if winner == team_1 else 0.0 if winner == team_2 else None
            rated = rate(current, Step(number, score_1, members_1, members_2), k_factor, initial)
            rosters += [(game_id, team_1, rated.before_1 + rated.delta),
                        (game_id, team_2, rated.before_2 - rated.delta)]
        player_rows += [(game_id, p, current[p]) for _, _, p in rows_of.get(game_id, []) if p in current]
    return (pl.DataFrame(rosters, schema={"game_id": pl.String, "team_key": pl.String, "roster_elo": pl.Float64},
                         orient="row"),
            pl.DataFrame(player_rows, schema={"game_id": pl.String, "player_key": pl.String, "elo": pl.Float64},
                         orient="row"))


# --- the update ---------------------------------------------------------------------------------------
def live_update(built: dict[str, pl.DataFrame], bronze_players: pl.DataFrame, bronze_teams: pl.DataFrame
                ) -> LiveState:
    """`built`: the last build's HISTORY_TABLES and "games" (game_id and GAME_COLUMNS of gold.player_features);
    `bronze_*`: bronze as readers see it (BRONZE_PLAYER_COLUMNS, BRONZE_TEAM_COLUMNS). The histories of every
    player, team and league that a game not yet built touches are recomputed; the others are the build's
    rows, unchanged."""
    built_player_games = set(built["gold.player_state_history"]["last_game_id"].to_list())
    built_team_games = set(built["gold.team_state_history"]["last_game_id"].to_list())
    staged_players = stage_player_games(bronze_players)
    staged_teams = stage_team_games(bronze_teams)
    new_games = (set(staged_players["game_id"].to_list()) - built_player_games) | (
        set(staged_teams["game_id"].to_list()) - built_team_games)
    tables = dict(built)
    if not new_games:
        return LiveState(tables)
    new_players = staged_players.filter(pl.col("game_id").is_in(list(new_games)))
    new_teams = staged_teams.filter(pl.col("game_id").is_in(list(new_games)))
    players = sorted(set(new_players["player_key"].to_list()))
    teams = sorted(set(new_teams["team_key"].to_list()))
    leagues = sorted(set(new_players["league"].drop_nulls().to_list()))

    history = built["gold.player_state_history"]
    latest_players = history.sort(["player_key", "last_game_start", "last_game_id"]).group_by("player_key").last()
    player_ratings = {k: v for k, v in zip(latest_players["player_key"], latest_players["elo"]) if v is not None}
    new_rosters, new_player_elo = continue_roster_elo(staged_teams, staged_players, new_games, player_ratings)
    touched = staged_players.filter(pl.col("player_key").is_in(players))
    built_player_elo = history.select(pl.col("last_game_id").alias("game_id"), "player_key", "elo")
    tables["gold.player_state_history"] = pl.concat(
        [history.filter(~pl.col("player_key").is_in(players)),
         player_histories(touched, pl.concat([built_player_elo, new_player_elo], how="vertical_relaxed"))
         .select(history.columns)],
        how="vertical_relaxed")

    team_history = built["gold.team_state_history"]
    latest = team_history.sort(["team_key", "last_game_start", "last_game_id"]).group_by("team_key").last()
    ratings = {k: v for k, v in zip(latest["team_key"], latest["elo"]) if v is not None}
    last_built = {k: (s, g) for k, s, g in zip(latest["team_key"], latest["last_game_start"], latest["last_game_id"])}
    new_elo, late = continue_elo(staged_teams, new_games, ratings, last_built)
    built_elo = team_history.select(pl.col("last_game_id").alias("game_id"), "team_key", "elo")
    built_rosters = team_history.select(pl.col("last_game_id").alias("game_id"), "team_key", "roster_elo")
    team_games = staged_teams.filter(pl.col("team_key").is_in(teams))
    tables["gold.team_state_history"] = pl.concat(
        [team_history.filter(~pl.col("team_key").is_in(teams)),
         team_histories(team_games, pl.concat([built_elo, new_elo]),
                        pl.concat([built_rosters, new_rosters], how="vertical_relaxed")).select(team_history.columns)],
        how="vertical_relaxed")
    conceded = built["gold.team_conceded_state_history"]
    tables["gold.team_conceded_state_history"] = pl.concat(
        [conceded.filter(~pl.col("team_key").is_in(teams)),
         conceded_histories(team_games, staged_players).select(conceded.columns)], how="vertical_relaxed")

    baselines = built["gold.position_baseline_history"]
    tables["gold.position_baseline_history"] = pl.concat(
        [baselines.filter(~pl.col("league").is_in(leagues)),
         baseline_histories(staged_players.filter(pl.col("league").is_in(leagues))).select(baselines.columns)],
        how="vertical_relaxed")

    picked = new_players.filter(pl.col("champion").is_not_null() & pl.col("patch").is_not_null())
    patches = built["gold.patches"]
    seen = pl.concat([picked.select("patch", pl.col("game_start").alias("patch_first_seen")),
                      new_teams.filter(pl.col("patch").is_not_null())
                      .select("patch", pl.col("game_start").alias("patch_first_seen"))], how="vertical_relaxed")
    tables["gold.patches"] = (pl.concat([patches, seen], how="vertical_relaxed")
                              .group_by("patch").agg(pl.col("patch_first_seen").min()))
    games = built["games"]
    tables["games"] = pl.concat([games, new_players.select(games.columns)], how="vertical_relaxed")
    return LiveState(tables, sorted(new_games), players, teams, leagues, late)
