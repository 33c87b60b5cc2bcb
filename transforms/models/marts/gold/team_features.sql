-- One row per team per game, features from games before the series began; targets alongside. The roster
-- ratings are those of the lineup each team fielded in its last game before the series (gold.team_state_history's
-- roster_elo as of the series' start): a request knows them, where the series' own starters it does not.
with team_games as (
    select * from {{ ref('int_team_games') }}
)
select
    t.game_id,
    t.team_key,
    t.team_name,
    t.opponent_key,
    t.side,
    t.league,
    t.split,
    t.playoffs,
    t.patch,
    t.series_id,
    t.series_start,
    t.game_start,
    t.map_number,
    s.best_of,
    coalesce(ts.games_played, 0) as games_played,
    coalesce(os.games_played, 0) as opponent_games_played,
    ts.last_game_start,
    {{ outscaled.days_between('ts.last_game_start', 't.series_start') }} as days_since_last_game,
    {{ outscaled.select_state('ts', outscaled.team_stats(), windows=[5, 10, 20]) }}
    {{ outscaled.select_state('os', outscaled.team_stats(), prefix='opponent_', windows=[5, 10, 20]) }}
    te.elo_before as elo,
    oe.elo_before as opponent_elo,
    te.elo_before - oe.elo_before as elo_diff,
    tr.roster_elo_after as roster_elo,
    orr.roster_elo_after as opponent_roster_elo,
    tr.roster_elo_after - orr.roster_elo_after as roster_elo_diff,
    pf.patch_first_seen,
    greatest({{ outscaled.days_between('pf.patch_first_seen', 't.series_start') }}, 0) as days_since_patch,
    t.result as target_result,
    t.kills as target_kills,
    t.deaths as target_deaths,
    t.game_minutes as target_game_minutes
from team_games t
join team_games o on o.game_id = t.game_id and o.team_key = t.opponent_key
left join {{ ref('series') }} s on s.series_id = t.series_id
left join {{ ref('int_team_state') }} ts on ts.team_key = t.team_key and ts.seq = t.series_first_seq - 1
left join {{ ref('int_team_state') }} os on os.team_key = o.team_key and os.seq = o.series_first_seq - 1
left join team_games tf on tf.team_key = t.team_key and tf.series_id = t.series_id and tf.seq = t.series_first_seq
left join team_games of_ on of_.team_key = o.team_key and of_.series_id = o.series_id and of_.seq = o.series_first_seq
left join {{ ref('int_team_elo') }} te on te.game_id = tf.game_id and te.team_key = tf.team_key
left join {{ ref('int_team_elo') }} oe on oe.game_id = of_.game_id and oe.team_key = of_.team_key
left join {{ ref('int_player_elo') }} tr on tr.game_id = ts.game_id and tr.team_key = ts.team_key and tr.roster_players > 0
left join {{ ref('int_player_elo') }} orr on orr.game_id = os.game_id and orr.team_key = os.team_key and orr.roster_players > 0
left join {{ ref('patches') }} pf on pf.patch = t.patch
