"""Parse the `date` column whatever a spreadsheet did to it.

Oracle's Elixir writes ISO timestamps; files that went through a spreadsheet carry `DD/MM/YYYY H:MM`
or `M/D/YYYY H:MM` (sometimes with trailing spaces). The day/month order of slashed dates is decided
from the values themselves: a first part above 12 means day first, a second part above 12 means month
first. A file whose values fit both orders cannot be decided and must be configured explicitly.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

DateOrder = Literal["dmy", "mdy"]

_ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_SLASH = r"^\d{1,2}/\d{1,2}/\d{4}"


class AmbiguousDateOrder(ValueError):
    """The file's slashed dates fit both day-first and month-first readings."""


def detect_date_order(values: pl.Series) -> DateOrder | None:
    """Day/month order of slashed dates, None when the column holds no slashed dates.

    Raises AmbiguousDateOrder when the values cannot decide it (or contradict each other).
    """
    slashed = values.str.strip_chars().filter(values.str.strip_chars().str.contains(_SLASH))
    if slashed.is_empty():
        return None
    parts = slashed.str.extract_groups(r"^(\d{1,2})/(\d{1,2})/").struct.unnest().cast(pl.Int32)
    first_over_12 = bool((parts[:, 0] > 12).any())
    second_over_12 = bool((parts[:, 1] > 12).any())
    if first_over_12 and not second_over_12:
        return "dmy"
    if second_over_12 and not first_over_12:
        return "mdy"
    raise AmbiguousDateOrder(
        "contradictory day/month values" if first_over_12 else "every day is 12 or less, so D/M and M/D both fit"
    )


def parse_dates(values: pl.Series, order: DateOrder | None) -> pl.Series:
    """Timestamps for every value; values that match no known format become null."""
    stripped = values.str.strip_chars()
    candidates = [stripped.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in _ISO_FORMATS]
    if order is not None:
        day_month = "%d/%m/%Y" if order == "dmy" else "%m/%d/%Y"
        for time_part in (" %H:%M:%S", " %H:%M", ""):
            candidates.append(stripped.str.strptime(pl.Datetime("us"), day_month + time_part, strict=False))
    return pl.select(pl.coalesce(candidates)).to_series().alias(values.name)
