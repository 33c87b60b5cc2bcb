-- League/position baselines through the end of each day with games: the baseline as of a moment is the
-- row of the latest such day before the moment's day (games of the same day are never counted).
select
    league,
    position,
    day,
    {% for stat in outscaled.player_stats() %}
    baseline_{{ stat }}_through_day as baseline_{{ stat }},
    {% endfor %}
    {% for stat in outscaled.conceded_stats() %}
    recent_{{ stat }}_through_day as recent_{{ stat }},
    {% endfor %}
    baseline_games_through_day as baseline_games
from {{ ref('int_position_baseline_daily') }}
