-- Every pick and ban we know, one row per (game, champion, kind): from the match files, and from the
-- drafts file for the games the match files do not have.
with match_picks as (
    select game_id, patch, game_start, champion, 'pick' as kind
    from {{ ref('stg_player_games') }}
    where champion is not null
),
known_games as (
    select distinct game_id from match_picks
),
match_bans as (
    select game_id, patch, game_start, champion, 'ban' as kind
    from {{ ref('stg_team_bans') }}
    where game_id in (select game_id from known_games)
),
drafts as (
    select * from {{ ref('stg_drafts') }} where game_id not in (select game_id from known_games)
),
draft_rows as (
    {% set slots = [] %}
    {% for side in ['blue', 'red'] %}{% for role in ['top', 'jng', 'mid', 'bot', 'sup'] %}{% do slots.append((side ~ '_pick_' ~ role, 'pick')) %}{% endfor %}{% endfor %}
    {% for side in ['blue', 'red'] %}{% for i in range(1, 6) %}{% do slots.append((side ~ '_ban_' ~ i, 'ban')) %}{% endfor %}{% endfor %}
    {% for column, kind in slots %}
    select game_id, patch, date as game_start, {{ column }} as champion, '{{ kind }}' as kind
    from drafts where {{ column }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)
select * from match_picks
union all
select * from match_bans
union all
select * from draft_rows
