-- League-wide averages per league and position from every game on days before each day, and the recent
-- level (outscaled.recency_weight: each day's games weighted by how long ago they were played).
with daily as (
    select
        league,
        position,
        {{ outscaled.day_of('game_start') }} as day,
        count(*) as n,
        {% for stat in outscaled.player_stats() %}
        sum({{ stat }}) as sum_{{ stat }},
        count({{ stat }}) as n_{{ stat }},
        {% endfor %}
        {{ outscaled.recency_weight(outscaled.day_of('game_start')) }} as recency_weight
    from {{ ref('stg_player_games') }}
    where position <> 'team'
    group by league, position, {{ outscaled.day_of('game_start') }}
)
select
    league,
    position,
    day,
    {% for stat in outscaled.player_stats() %}
    sum(sum_{{ stat }}) over (partition by league, position order by day rows between unbounded preceding and 1 preceding)
      / nullif(sum(n_{{ stat }}) over (partition by league, position order by day rows between unbounded preceding and 1 preceding), 0)
      as baseline_{{ stat }},
    sum(sum_{{ stat }}) over (partition by league, position order by day rows between unbounded preceding and current row)
      / nullif(sum(n_{{ stat }}) over (partition by league, position order by day rows between unbounded preceding and current row), 0)
      as baseline_{{ stat }}_through_day,
    {% endfor %}
    {% for stat in outscaled.conceded_stats() %}
    sum(sum_{{ stat }} * recency_weight) over (partition by league, position order by day rows between unbounded preceding and 1 preceding)
      / nullif(sum(n_{{ stat }} * recency_weight) over (partition by league, position order by day rows between unbounded preceding and 1 preceding), 0)
      as recent_{{ stat }},
    sum(sum_{{ stat }} * recency_weight) over (partition by league, position order by day rows between unbounded preceding and current row)
      / nullif(sum(n_{{ stat }} * recency_weight) over (partition by league, position order by day rows between unbounded preceding and current row), 0)
      as recent_{{ stat }}_through_day,
    {% endfor %}
    -- counts of games as double: the type gold.position_baseline_* has always had
    cast(sum(n) over (partition by league, position order by day rows between unbounded preceding and 1 preceding) as double) as baseline_games,
    cast(sum(n) over (partition by league, position order by day rows between unbounded preceding and current row) as double) as baseline_games_through_day
from daily
