-- The player's own record on the champion they play, from games before the series began.
select
    t.game_id,
    t.player_key,
    count(h.game_id) as champion_games,
    avg(h.kills) as champion_kills_avg,
    avg(h.deaths) as champion_deaths_avg,
    avg(h.assists) as champion_assists_avg,
    avg(h.result) as champion_win_rate
from {{ ref('int_player_games') }} t
left join {{ ref('int_player_games') }} h
  on h.player_key = t.player_key and h.champion = t.champion and h.seq < t.series_first_seq
group by t.game_id, t.player_key
