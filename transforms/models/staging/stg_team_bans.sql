-- The bans of each team row of the match files, one row per ban.
with team_games as (
    select game_id, patch, date as game_start, ban_1, ban_2, ban_3, ban_4, ban_5
    from {{ outscaled.bronze('team_games') }}
)
{% for i in range(1, 6) %}
select game_id, patch, game_start, ban_{{ i }} as champion from team_games where ban_{{ i }} is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
