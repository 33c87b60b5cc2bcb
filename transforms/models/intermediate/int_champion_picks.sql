-- Every pick and ban we know, one row per (game, champion, kind): from the match files, and from the
-- drafts file for the games the match files do not have. A view: its readers keep only daily counts
-- (int_champion_days, int_patch_days), and at 100x of the shared data the rows are ~190 M (the drafts file
-- alone gives 20 a game), which took 228 s to write as a table that nothing else read.
{{ config(materialized='view') }}
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
{% set slots = [] %}
{% for side in ['blue', 'red'] %}{% for role in ['top', 'jng', 'mid', 'bot', 'sup'] %}{% do slots.append((side ~ '_pick_' ~ role, 'pick')) %}{% endfor %}{% endfor %}
{% for side in ['blue', 'red'] %}{% for i in range(1, 6) %}{% do slots.append((side ~ '_ban_' ~ i, 'ban')) %}{% endfor %}{% endfor %}
slots as (
    {% for column, kind in slots %}
    select '{{ column }}' as slot, '{{ kind }}' as kind{% if not loop.last %} union all{% endif %}
    {% endfor %}
),
-- The drafts file is unpivoted in one pass (one scan, one anti join): Spark would plan a union of one
-- branch per slot as that many scans and joins.
draft_rows as (
    select game_id, patch, game_start, champion, kind
    from (
        select
            d.game_id,
            d.patch,
            d.date as game_start,
            case s.slot {% for column, kind in slots %}when '{{ column }}' then d.{{ column }} {% endfor %}end as champion,
            s.kind
        from {{ ref('stg_drafts') }} d
        cross join slots s
        where not exists (select 1 from known_games k where k.game_id = d.game_id)
    ) unpivoted
    where champion is not null
)
select * from match_picks
union all
select * from match_bans
union all
select * from draft_rows
