-- The "as of now" league/position baselines: every game up to and including the latest day.
with latest as (
    select league, position, max(day) as day from {{ ref('int_position_baseline_daily') }} group by league, position
)
select
    b.league,
    b.position,
    {% for stat in outscaled.player_stats() %}
    b.baseline_{{ stat }}_through_day as baseline_{{ stat }},
    {% endfor %}
    b.baseline_games
from {{ ref('int_position_baseline_daily') }} b
join latest l on l.league = b.league and l.position = b.position and l.day = b.day
