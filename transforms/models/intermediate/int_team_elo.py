"""Team Elo ratings before and after every game (sequential by nature, so computed in Python).

The update rule lives in outscaled.features.elo, shared with the online service.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from outscaled.features.elo import elo_ratings

    games = dbt.ref("int_games").arrow()
    if hasattr(games, "read_all"):  # newer DuckDB returns a RecordBatchReader
        games = games.read_all()
    return elo_ratings(games)
