"""Schemathesis hooks for tests/bentos/test_api_fuzz.py (loaded by `st run` through SCHEMATHESIS_HOOKS).

Schemathesis' positive_data_acceptance refuses any 422 to data the document allows. Three rules cannot be
said in JSON Schema and the document states them in words: `map_end` at least `map_start` and within
`best_of`; a whole number written without a fraction (JSON Schema's "integer" takes 4.0, the service
wants 4); and an unknown champion is a 422 with the closest names. This check takes its place and allows
exactly those 422s, each only when the request really breaks the rule the answer names. Any other 422 to
valid data fails."""

from __future__ import annotations

import re

import schemathesis

_ITEM = re.compile(r"requests\[(\d+)\]\.")


def _values(case, field: str) -> dict:
    """The fields of the request (or of the batch item) that `field` names."""
    if case.body is None or not isinstance(case.body, dict):
        return {k: v for k, v in (case.query or {}).items()}
    item = _ITEM.match(field)
    if item and isinstance(case.body.get("requests"), list):
        return case.body["requests"][int(item.group(1))]
    return case.body


def _whole(value) -> int | None:
    return None if value is None else int(float(value))


def breaks_the_map_rule(values: dict) -> bool:
    start = _whole(values.get("map_start")) or 1
    end = _whole(values.get("map_end")) or start
    best_of = _whole(values.get("best_of"))
    return end < start or (best_of is not None and end > best_of)


@schemathesis.check
def valid_data_refused_only_by_a_stated_rule(ctx, response, case) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    answer = response.json()
    field, message = answer.get("field") or "", answer.get("error") or ""
    if field.endswith("champion") and message.startswith("unknown champion"):
        return None
    values = _values(case, field)
    if field.endswith("map_end") and breaks_the_map_rule(values):
        return None
    sent = values.get(field.rpartition(".")[2]) if isinstance(values, dict) else None
    if isinstance(sent, float) and sent.is_integer():
        return None
    raise AssertionError(f"valid data refused with 422 for no rule the document states: {answer}")
