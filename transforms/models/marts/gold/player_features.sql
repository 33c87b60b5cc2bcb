-- One row per player per game. Every feature comes from games that ended before the game's series
-- began; the stats of the game itself are the `target_*` columns.
with games as (
    select * from {{ ref('int_player_games') }}
),
team_games as (
    select * from {{ ref('int_team_games') }}
)
select
    g.game_id,
    g.player_key,
    g.player_name,
    g.team_key,
    g.team_name,
    g.opponent_key,
    g.position,
    g.side,
    g.champion,
    g.league,
    g.split,
    g.playoffs,
    g.patch,
    g.series_id,
    g.series_start,
    g.game_start,
    g.map_number,
    s.best_of,
    -- player form
    coalesce(ps.games_played, 0) as games_played,
    ps.last_game_start,
    {{ outscaled.days_between('ps.last_game_start', 'g.series_start') }} as days_since_last_game,
    {{ outscaled.select_state('ps', outscaled.player_stats()) }}
    -- league-wide baseline for the position
    {% for stat in outscaled.player_stats() %}
    b.baseline_{{ stat }} as position_baseline_{{ stat }},
    {% endfor %}
    {% for stat in outscaled.conceded_stats() %}
    b.recent_{{ stat }} as position_recent_{{ stat }},
    {% endfor %}
    coalesce(b.baseline_games, 0) as position_baseline_games,
    -- what the opponent concedes to this role (their last 10 games)
    {{ outscaled.select_state('oc', outscaled.conceded_stats(), prefix='opponent_conceded_', windows=[10]) }}
    coalesce(oc.games_seen, 0) as opponent_conceded_games,
    -- team and opponent form, ratings
    {{ outscaled.select_state('ts', outscaled.team_stats(), prefix='team_', windows=[5, 10, 20]) }}
    {{ outscaled.select_state('os', outscaled.team_stats(), prefix='opponent_', windows=[5, 10, 20]) }}
    te.elo_before as team_elo,
    oe.elo_before as opponent_elo,
    -- patch and champion meta (pick/ban rates need the draft: known only once it is done)
    pf.patch_first_seen,
    greatest({{ outscaled.days_between('pf.patch_first_seen', 'g.series_start') }}, 0) as days_since_patch,
    cm.champion_pick_rate,
    cm.champion_ban_rate,
    coalesce(cm.patch_games_before, 0) as patch_games_before,
    coalesce(ch.champion_games, 0) as champion_games,
    ch.champion_kills_avg,
    ch.champion_deaths_avg,
    ch.champion_assists_avg,
    ch.champion_win_rate,
    -- targets: this game's stats
    g.kills as target_kills,
    g.deaths as target_deaths,
    g.assists as target_assists,
    g.cs as target_cs,
    g.damage_share as target_damage_share,
    g.kill_participation as target_kill_participation,
    g.result as target_result
from games g
left join {{ ref('series') }} s on s.series_id = g.series_id
left join {{ ref('int_player_state') }} ps
  on ps.player_key = g.player_key and ps.seq = g.series_first_seq - 1
left join {{ ref('int_position_baseline_daily') }} b
  on b.league = g.league and b.position = g.position and b.day = {{ outscaled.day_of('g.series_start') }}
left join team_games tg on tg.game_id = g.game_id and tg.team_key = g.team_key
left join team_games og on og.game_id = g.game_id and og.team_key = g.opponent_key
left join {{ ref('int_team_state') }} ts on ts.team_key = tg.team_key and ts.seq = tg.series_first_seq - 1
left join {{ ref('int_team_state') }} os on os.team_key = og.team_key and os.seq = og.series_first_seq - 1
left join {{ ref('int_team_conceded_state') }} oc
  on oc.team_key = og.team_key and oc.position = g.position and oc.seq = og.series_first_seq - 1
left join team_games tf on tf.team_key = tg.team_key and tf.series_id = tg.series_id and tf.seq = tg.series_first_seq
left join team_games of_ on of_.team_key = og.team_key and of_.series_id = og.series_id and of_.seq = og.series_first_seq
left join {{ ref('int_team_elo') }} te on te.game_id = tf.game_id and te.team_key = tf.team_key
left join {{ ref('int_team_elo') }} oe on oe.game_id = of_.game_id and oe.team_key = of_.team_key
left join {{ ref('patches') }} pf on pf.patch = g.patch
left join {{ ref('int_champion_meta') }} cm
  on cm.patch = g.patch and cm.champion = g.champion and cm.day = {{ outscaled.day_of('g.series_start') }}
left join {{ ref('int_player_champion_history') }} ch on ch.game_id = g.game_id and ch.player_key = g.player_key
