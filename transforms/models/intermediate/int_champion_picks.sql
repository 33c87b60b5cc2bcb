-- Every pick and ban we know, one row per (game, champion, kind): from the match files, and from the
-- drafts file for the games the match files do not have. A view: its readers keep only daily counts
-- (int_champion_days, int_patch_days), and at 100x of the shared data the rows are ~190 M (the drafts file
-- alone gives 20 a game), which took 228 s to build as a table.
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
{% set picks = [] %}{% set bans = [] %}
{% for side in ['blue', 'red'] %}{% for role in ['top', 'jng', 'mid', 'bot', 'sup'] %}{% do picks.append(side ~ '_pick_' ~ role) %}{% endfor %}{% endfor %}
{% for side in ['blue', 'red'] %}{% for i in range(1, 6) %}{% do bans.append(side ~ '_ban_' ~ i) %}{% endfor %}{% endfor %}
unmatched_drafts as (
    select d.*
    from {{ ref('stg_drafts') }} d
    where not exists (select 1 from known_games k where k.game_id = d.game_id)
),
-- The drafts file is unpivoted by unnesting each game's list of picks and of bans (a CASE per slot over a
-- cross join with the slots took 6x as long at 100x of the shared data; Spark would plan a union of one
-- branch per slot as that many scans and joins).
draft_rows as (
    select game_id, patch, game_start, champion, kind
    from (
        select game_id, patch, date as game_start, {{ outscaled.unnest_list(outscaled.list_of(picks)) }} as champion,
               'pick' as kind
        from unmatched_drafts
        union all
        select game_id, patch, date as game_start, {{ outscaled.unnest_list(outscaled.list_of(bans)) }} as champion,
               'ban' as kind
        from unmatched_drafts
    ) unpivoted
    where champion is not null
)
select * from match_picks
union all
select * from match_bans
union all
select * from draft_rows
