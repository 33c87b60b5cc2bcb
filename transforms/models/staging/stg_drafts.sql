-- Picks by role and bans from the drafts file (one row per game); only games with a date and a patch.
select *
from {{ outscaled.bronze('drafts') }}
where date is not null and patch is not null
