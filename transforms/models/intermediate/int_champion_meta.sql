-- Champion pick and ban rates in a patch from games on days before each target day (no same-day games:
-- a series may start before others that day end). One row per (patch, champion, day) a player played.
with daily as (
    select patch, champion, day, picks, bans from {{ ref('int_champion_days') }}
),
patch_daily as (
    select patch, day, games from {{ ref('int_patch_days') }}
),
patch_first_seen as (
    select patch, min(first_game_start) as patch_first_seen from {{ ref('int_patch_days') }} group by patch
),
targets as (
    select distinct patch, champion, {{ outscaled.day_of('series_start') }} as day
    from {{ ref('int_player_games') }}
    where champion is not null and patch is not null
),
champion_before as (
    select t.patch, t.champion, t.day, sum(d.picks) as picks_before, sum(d.bans) as bans_before
    from targets t join daily d on d.patch = t.patch and d.champion = t.champion and d.day < t.day
    group by t.patch, t.champion, t.day
),
games_before as (
    select t.patch, t.day, sum(p.games) as patch_games_before
    from (select distinct patch, day from targets) t
    join patch_daily p on p.patch = t.patch and p.day < t.day
    group by t.patch, t.day
)
select
    t.patch,
    t.champion,
    t.day,
    cast(coalesce(g.patch_games_before, 0) as double) as patch_games_before,  -- double: gold.player_features type
    {{ outscaled.ratio('coalesce(c.picks_before, 0)', 'nullif(g.patch_games_before, 0)') }} as champion_pick_rate,
    {{ outscaled.ratio('coalesce(c.bans_before, 0)', 'nullif(g.patch_games_before, 0)') }} as champion_ban_rate,
    f.patch_first_seen
from targets t
left join champion_before c on c.patch = t.patch and c.champion = t.champion and c.day = t.day
left join games_before g on g.patch = t.patch and g.day = t.day
left join patch_first_seen f on f.patch = t.patch
