"""Request validation against the declared schemas: every text field of every route is bounded, types are
strict (no true for 1, no 3.0 for 3, ASCII digits only in a query), every refusal names its field, and no
message repeats more than MAX_ECHO characters of what a client sent (the HTTP side is in
tests/bentos/test_input_bounds.py and tests/bentos/test_api_fuzz.py)."""

import re

import orjson
import pytest

from outscaled.online import schemas
from outscaled.online.schemas import WHITESPACE

from outscaled.online.requests import (
    FIELDS, MAX_BATCH, MAX_BODY_BYTES, MAX_ECHO, MAX_TEXT, BodyTooLarge, RequestError, SingleRequest, echo, parse_batch,
    parse_curve, parse_match, parse_search, parse_single,
)

LONG = "x" * 1_000_000
VALID_SINGLE = {"player": "Faker", "stat": "kills", "line": 3.5}
VALID_MATCH = {"team_a": "T1", "team_b": "Gen.G", "best_of": 3}


def _refused(parse, *args) -> RequestError:
    with pytest.raises(RequestError) as error:
        parse(*args)
    assert len(str(error.value)) < 300 and len(error.value.field) <= MAX_ECHO
    return error.value


@pytest.mark.parametrize("field", ["player", "opponent", "tournament", "champion", "league", "team", "patch"])
def test_every_text_field_of_a_single_request_is_bounded(field):
    assert parse_single({**VALID_SINGLE, field: "y" * MAX_TEXT if field != "patch" else "25.17"})
    error = _refused(parse_single, {**VALID_SINGLE, field: LONG})
    assert error.field == field and LONG[:MAX_ECHO + 1] not in error.message


@pytest.mark.parametrize("field", ["stat", "position"])
def test_the_named_choices_refuse_a_long_value_without_repeating_it(field):
    error = _refused(parse_single, {**VALID_SINGLE, field: LONG})
    assert error.field == field and "must be one of" in error.message


def test_text_errors_say_what_is_wrong():
    assert _refused(parse_single, {**VALID_SINGLE, "team": LONG}).message == "holds 1,000,000 characters; at most 100"
    assert _refused(parse_single, {**VALID_SINGLE, "team": "  "}).message == "must not be empty"
    assert _refused(parse_single, {**VALID_SINGLE, "team": 7}).message == "must be a string of at most 100 characters"
    assert parse_single({**VALID_SINGLE, "team": " T1 "}).team == "T1"


def test_a_batch_names_the_item_and_field_and_is_bounded():
    error = _refused(parse_batch, {"requests": [VALID_SINGLE, {**VALID_SINGLE, "opponent": LONG}]})
    assert error.field == "requests[1].opponent"
    assert _refused(parse_batch, {"requests": [VALID_SINGLE] * (MAX_BATCH + 1)}).field == "requests"
    assert len(parse_batch({"requests": [VALID_SINGLE] * MAX_BATCH})) == MAX_BATCH


def test_an_unknown_key_is_named_but_cut_to_max_echo():
    error = _refused(parse_single, {**VALID_SINGLE, LONG: 1})
    assert error.field == echo(LONG) and len(error.field) == MAX_ECHO and error.message == "is not a known field"
    assert _refused(parse_match, {**VALID_MATCH, "colour": "red"}).field == "colour"


@pytest.mark.parametrize("field", ["team_a", "team_b"])
def test_match_teams_are_bounded(field):
    assert parse_match({**VALID_MATCH, field: "y" * MAX_TEXT})
    assert _refused(parse_match, {**VALID_MATCH, field: LONG}).field == field
    assert _refused(parse_match, {**VALID_MATCH, field: None}).message == "is required (a team name)"
    assert _refused(parse_match, {**VALID_MATCH, field: ""}).message == "must not be empty (a team name)"


def test_match_reads_the_format_and_side():
    asked = parse_match({**VALID_MATCH, "team_a_side": "blue"})
    assert (asked.team_a, asked.team_b, asked.best_of, asked.team_a_side) == ("T1", "Gen.G", 3, "blue")
    assert _refused(parse_match, {"team_a": "T1", "team_b": "Gen.G"}).field == "best_of"
    assert _refused(parse_match, {**VALID_MATCH, "team_a_side": LONG}).field == "team_a_side"
    assert _refused(parse_match, [VALID_MATCH]).field == "body"


def test_curve_bounds_the_path_and_every_query_parameter():
    asked = parse_curve("Faker", {"stat": "kills", "map_start": "2", "map_end": "3", "best_of": "5", "opponent": "T1"})
    assert (asked.player_id, asked.stat, asked.map_start, asked.map_end, asked.best_of, asked.opponent) == (
        "Faker", "kills", 2, 3, 5, "T1")
    assert parse_curve("Faker", {"stat": "kills", "opponent": "  "}).opponent is None
    assert _refused(parse_curve, LONG, {"stat": "kills"}).field == "player_id"
    for field, value in [("stat", LONG), ("opponent", LONG), ("map_start", LONG), ("map_end", "9" * 5000),
                         ("map_start", "²"), ("best_of", "4"), ("best_of", LONG)]:
        assert _refused(parse_curve, "Faker", {"stat": "kills", field: value}).field == field
    assert _refused(parse_curve, "Faker", {"stat": "kills", "map_start": "3", "map_end": "2"}).field == "map_end"


def test_search_bounds_the_query_and_the_limit():
    assert parse_search({}) == ("", 20)
    assert parse_search({"q": "fa", "limit": "1000"}) == ("fa", 1000)
    assert _refused(parse_search, {"q": LONG}).field == "q"
    for limit in ("0", "1001", "²", "9" * 5000, ""):
        assert _refused(parse_search, {"limit": limit}).field == "limit"


def test_whole_numbers_in_a_query_take_ascii_digits_only():
    assert parse_search({"limit": "3"}) == ("", 3) and parse_search({"limit": "0003"}) == ("", 3)
    for raw in ("٣", "²", "3.0", "-1", " 3", "+3", "1" * 5000, "true"):
        assert _refused(parse_search, {"limit": raw}).message == "must be a whole number from 1 to 1000"
        assert _refused(parse_curve, "Faker", {"stat": "kills", "map_end": raw}).field == "map_end"


@pytest.mark.parametrize("body", [orjson.dumps, lambda body: body], ids=["json", "parsed"])
def test_types_are_strict(body):
    """What the issue found: 3.0 passed as 3 (and then range(2.0) raised), true passed as best-of-1."""
    for field, value in [("best_of", 3.0), ("best_of", True), ("best_of", "3"), ("best_of", 4), ("map_start", 1.0),
                         ("map_end", True), ("map_start", "1"), ("playoffs", 1), ("playoffs", "true"), ("line", True),
                         ("line", "4.5"), ("stat", ["kills"]), ("position", "Mid"), ("player", ["Faker"])]:
        assert _refused(parse_single, body({**VALID_SINGLE, field: value})).field == field, (field, value)
    assert _refused(parse_match, body({**VALID_MATCH, "best_of": 3.0})).field == "best_of"
    assert _refused(parse_match, body({**VALID_MATCH, "best_of": True})).field == "best_of"
    assert parse_single(body({**VALID_SINGLE, "line": 4.5, "best_of": 5, "playoffs": True})).best_of == 5


def test_a_body_is_validated_from_its_bytes_alike():
    full = {"player": " Faker ", "stat": "kills", "line": 3.5, "map_start": 2, "map_end": 3, "opponent": "Gen.G",
            "tournament": "Worlds", "champion": "Ahri", "best_of": 5, "league": "LCK", "team": "T1", "patch": "5.7",
            "playoffs": False, "position": "mid"}
    asked = parse_single(orjson.dumps(full))
    assert asked == parse_single(full) == SingleRequest(**{**full, "player": "Faker", "patch": "05.07"})
    assert _refused(parse_single, b"{not json").field == "body"
    assert _refused(parse_single, b"").field == "body" and _refused(parse_single, b"[1]").message == "must be a JSON object"
    assert _refused(parse_single, rb'{"player": "\ud800", "stat": "kills", "line": 3.5}').field == "body"  # a lone
    assert _refused(parse_single, b'{"player": "\xff"}').field == "body"  # surrogate, bytes not UTF-8: not JSON


def test_optional_fields_may_be_null_and_the_map_range_follows_the_rules():
    asked = parse_single({**VALID_SINGLE, "map_start": None, "map_end": None, "best_of": None, "team": None})
    assert (asked.map_start, asked.map_end, asked.best_of, asked.team) == (1, 1, None, None)
    assert parse_single({**VALID_SINGLE, "map_start": 2}).map_end == 2
    error = _refused(parse_single, {**VALID_SINGLE, "map_start": 3, "map_end": 2})
    assert (error.field, error.message) == ("map_end", "must be at least map_start (3)")
    error = _refused(parse_single, {**VALID_SINGLE, "map_end": 4, "best_of": 3})
    assert (error.field, error.message) == ("map_end", "map 4 is not played in a best-of-3")
    error = _refused(parse_batch, {"requests": [VALID_SINGLE, {**VALID_SINGLE, "map_end": 2, "best_of": 1}]})
    assert error.field == "requests[1].map_end"
    assert _refused(parse_curve, "Faker", {"stat": "kills", "map_end": "4", "best_of": "3"}).field == "map_end"


def test_whitespace_is_what_json_schema_patterns_call_whitespace():
    """The document's pattern, pydantic and str.strip agree on every character (Python's own \\s and strip()
    also take \\x1c-\\x1f and \\x85: with them a name could pass the pattern and be empty once stripped)."""
    space = re.compile(schemas._SPACE)
    assert {c for c in map(chr, range(0x110000)) if space.fullmatch(c)} == set(WHITESPACE)
    for blank in (" ", "\t\n", "\u3000", "\u2028", "\ufeff", WHITESPACE):
        assert _refused(parse_single, {**VALID_SINGLE, "player": blank}).message == "must not be empty"
    assert parse_single({**VALID_SINGLE, "player": "\u3000Faker\x1c"}).player == "Faker\x1c"
    assert parse_single({**VALID_SINGLE, "player": "\x1c"}).player == "\x1c"  # not whitespace to JSON Schema
    assert parse_single({**VALID_SINGLE, "patch": "\u3000 5.7\n"}).patch == "05.07"


def test_a_body_too_large_is_a_413_on_the_body():
    error = BodyTooLarge(2_000_000)
    assert error.status == 413 and error.field == "body" and "2,000,000" in error.message
    assert RequestError("x", "y").status == 422


def test_echo_keeps_at_most_max_echo_characters():
    assert echo("short") == "short" and echo("y" * MAX_ECHO) == "y" * MAX_ECHO
    assert len(echo(LONG)) == MAX_ECHO and echo(LONG).endswith("…")


def test_a_full_batch_with_every_field_at_its_limit_fits_the_body_limit():
    widest = "\x01" * MAX_TEXT  # JSON writes each as a 6-byte escape
    item = {"player": widest, "opponent": widest, "tournament": widest, "champion": widest, "league": widest,
            "team": widest, "patch": "25.17", "position": "mid", "stat": "assists", "line": 1999.5,
            "map_start": 1, "map_end": 5, "best_of": 5, "playoffs": False}
    assert set(item) == FIELDS
    body = orjson.dumps({"requests": [item] * MAX_BATCH})
    assert len(body) <= MAX_BODY_BYTES
    assert len(parse_batch(orjson.loads(body))) == MAX_BATCH
