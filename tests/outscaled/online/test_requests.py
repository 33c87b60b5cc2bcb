"""Request validation: every text field of every route is bounded, and no message repeats more than
MAX_ECHO characters of what a client sent (the HTTP side is in tests/bentos/test_input_bounds.py)."""

import orjson
import pytest

from outscaled.online.requests import (
    FIELDS, MAX_BATCH, MAX_BODY_BYTES, MAX_ECHO, MAX_TEXT, BodyTooLarge, RequestError, echo, parse_batch, parse_curve, parse_match,
    parse_search, parse_single, parse_whole,
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
    assert (asked.player, asked.stat, asked.map_start, asked.map_end, asked.best_of, asked.opponent) == (
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


def test_whole_numbers_take_ascii_digits_only():
    assert parse_whole("3", "n", 1, 5, 1) == 3 and parse_whole(None, "n", 1, 5, 4) == 4
    for raw in ("٣", "²", "3.0", "-1", " 3", "1" * 5000):
        assert _refused(parse_whole, raw, "n", 1, 5, 1).message == "must be a whole number from 1 to 5"


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
