"""Hostile input over HTTP (the real `bentoml serve` of conftest.py): every text field of every route is
bounded (a 422 naming the field), a body over MAX_BODY_BYTES is a 413 before it is read, no answer to bad
input is a 500, and no error body repeats more than MAX_ECHO characters of what was sent."""

import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

from outscaled.online.requests import MAX_BODY_BYTES, MAX_ECHO
from tests.conftest import SERVICE_AUTH

LONG = "x" * 1000
SMALL_ERROR = 300  # bytes: an error body names the field and what is expected, and quotes at most MAX_ECHO


def _raw(base_url: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(base_url + path, data=body, method="POST" if body is not None else "GET",
                                     headers={"content-type": "application/json", **SERVICE_AUTH})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _refused(base_url: str, path: str, body=None) -> tuple[int, dict, int]:
    status, raw = _raw(base_url, path, None if body is None else json.dumps(body).encode())
    assert 400 <= status < 500, (status, raw[:300])
    return status, json.loads(raw), len(raw)


def test_a_megabyte_team_name_is_a_small_422_naming_the_field(service):
    body = {"team_a": "T" * 1_000_000, "team_b": "Gen.G", "best_of": 3}
    status, answer, size = _refused(service[0], "/predict/match", body)
    assert status == 422 and answer["field"] == "team_a" and size < SMALL_ERROR, answer


def test_a_megabyte_unknown_key_is_a_small_422(service, star):
    status, answer, size = _refused(service[0], "/predict/single",
                                    {"player": star, "stat": "kills", "line": 2.5, "k" * 1_000_000: 1})
    assert status == 422 and answer["field"] == "k" * (MAX_ECHO - 1) + "…" and size < SMALL_ERROR


SINGLE = {"stat": "kills", "line": 2.5}


@pytest.mark.parametrize("field", ["player", "opponent", "team", "league", "patch", "tournament", "champion",
                                   "position", "stat"])
def test_every_text_field_of_single_and_batch_is_bounded(service, star, field):
    body = {"player": star, **SINGLE, field: LONG}
    status, answer, size = _refused(service[0], "/predict/single", body)
    assert status == 422 and answer["field"] == field and size < SMALL_ERROR, answer
    status, answer, size = _refused(service[0], "/predict/batch", {"requests": [{"player": star, **SINGLE}, body]})
    assert status == 422 and answer["field"] == f"requests[1].{field}" and size < SMALL_ERROR, answer


@pytest.mark.parametrize(("query", "field"), [
    ({"stat": LONG}, "stat"), ({"opponent": LONG}, "opponent"), ({"map_start": "²"}, "map_start"),
    ({"map_end": "9" * 5000}, "map_end"), ({"best_of": LONG}, "best_of"),
])
def test_every_parameter_of_the_curve_is_bounded(service, star, query, field):
    path = f"/predict/curve/{urllib.parse.quote(star)}?" + urllib.parse.urlencode({"stat": "kills", **query})
    status, answer, size = _refused(service[0], path)
    assert status == 422 and answer["field"] == field and size < SMALL_ERROR, answer


def test_the_curve_path_is_bounded(service):
    status, answer, size = _refused(service[0], f"/predict/curve/{LONG}?stat=kills")
    assert status == 422 and answer["field"] == "player_id" and size < SMALL_ERROR


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/predict/match", {"team_a": "T1", "team_b": "Gen.G", "best_of": 3.0}, "best_of"),  # was range(2.0): a 500
    ("/predict/match", {"team_a": "T1", "team_b": "Gen.G", "best_of": True}, "best_of"),
    ("/predict/single", {"player": "x", "stat": "kills", "line": 2.5, "best_of": True}, "best_of"),  # was best-of-1
    ("/predict/single", {"player": "x", "stat": "kills", "line": 2.5, "map_end": 2.0}, "map_end"),
    ("/predict/batch", {"requests": [{"player": "x", "stat": "kills", "line": 2.5, "playoffs": 1}]}, "requests[0].playoffs"),
])
def test_numbers_and_flags_are_strict(service, path, body, field):
    status, answer, size = _refused(service[0], path, body)
    assert status == 422 and answer["field"] == field and size < SMALL_ERROR, answer


@pytest.mark.parametrize(("query", "field"), [({"q": LONG}, "q"), ({"limit": "²"}, "limit"),
                                               ({"limit": "9" * 5000}, "limit")])
def test_the_player_search_is_bounded(service, query, field):
    status, answer, size = _refused(service[0], "/players?" + urllib.parse.urlencode(query))
    assert status == 422 and answer["field"] == field and size < SMALL_ERROR


@pytest.mark.parametrize("field", ["team_a", "team_b", "team_a_side"])
def test_every_text_field_of_a_match_is_bounded(service, field):
    body = {"team_a": "T1", "team_b": "Gen.G", "best_of": 3, field: LONG}
    status, answer, size = _refused(service[0], "/predict/match", body)
    assert status == 422 and answer["field"] == field and size < SMALL_ERROR


def test_an_unknown_name_at_the_limit_is_a_404_that_quotes_at_most_max_echo(service):
    name = "Q" * 100
    status, answer, size = _refused(service[0], "/predict/match", {"team_a": name, "team_b": name, "best_of": 1})
    assert status == 404 and answer["error"].count("Q") <= MAX_ECHO and size < SMALL_ERROR + MAX_ECHO


def _send(base_url: str, head: str, chunks: list[bytes]) -> bytes:
    """Sends a request's head and some of its body on a raw socket, then reads the answer without
    sending the rest: only a server that answers before reading the whole body answers at all."""
    host, port = urllib.parse.urlsplit(base_url).netloc.split(":")
    head = head.replace("\r\n", "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in SERVICE_AUTH.items()), 1)
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head.encode())
        for chunk in chunks:
            connection.sendall(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = connection.recv(65536)
            if not data:
                break
            answer += data
    return answer


def test_a_body_declared_over_the_limit_is_a_413_before_it_is_read(service):
    head = (f"POST /predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n")
    answer = _send(service[0], head, [b'{"requests": ['])
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line, answer[:300]
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["field"] == "body"


def test_a_chunked_body_over_the_limit_is_a_413_once_it_is_over(service):
    head = ("POST /predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    piece = b"x" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * (MAX_BODY_BYTES // len(piece) + 1)  # no final chunk
    answer = _send(service[0], head, chunks)
    assert b" 413 " in answer.partition(b"\r\n")[0], answer[:300]


def test_a_full_batch_at_the_text_limits_fits_the_body_limit(service, star):
    item = {"player": star, "stat": "kills", "line": 2.5, "map_start": 1, "map_end": 1,
            **{field: "y" * 100 for field in ("opponent", "tournament", "team")}}
    body = json.dumps({"requests": [item] * 1000}).encode()
    assert len(body) < MAX_BODY_BYTES
    status, raw = _raw(service[0], "/predict/batch", body)
    assert status == 200 and len(json.loads(raw)["predictions"]) == 1000


# --- the admin routes (outscaled/platform/admin.py): the same bounds, for an admin caller --------------------

def _admin_refused(service, path: str, body=None) -> tuple[int, dict, int]:
    """A fresh admin key per call: the session service limits each admin to a burst of 10."""
    from outscaled.platform.keys import create_key

    token = create_key(service[1], "admin", "bounds tests").key
    request = urllib.request.Request(service[0] + path, data=json.dumps({} if body is None else body).encode(),
                                     method="POST", headers={"content-type": "application/json",
                                                             "authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    assert 400 <= status < 500, (status, raw[:300])
    return status, json.loads(raw), len(raw)


def test_admin_texts_are_bounded_no_further_than_they_may_be_echoed():
    from outscaled.online.schemas import MAX_TEXT

    assert MAX_TEXT <= MAX_ECHO  # so a domain error quoting a bounded value (an unknown version) quotes <= MAX_ECHO


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/admin/keys", {"role": LONG}, "role"),
    ("/admin/keys", {"role": "reader", "name": LONG}, "name"),
    ("/admin/models/promote", {"version": LONG}, "version"),
    ("/admin/snapshots/switch", {"snapshot_id": LONG}, "snapshot_id"),
    (f"/admin/keys/{LONG}/revoke", None, "key_id"),
])
def test_every_text_field_of_the_admin_routes_is_bounded(service, path, body, field):
    status, answer, size = _admin_refused(service, path, body)
    assert status == 422 and answer["field"] == field and size < SMALL_ERROR, answer
    assert "x" * MAX_ECHO not in answer["error"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/admin/keys", {"role": "root", "name": 3}, "name"),
    ("/admin/keys", {"name": "no role"}, "role"),
    ("/admin/keys", {"role": "reader", "extra": "x"}, "extra"),
    ("/admin/models/promote", {"version": 7}, "version"),
    ("/admin/snapshots/switch", {"snapshot_id": "  "}, "snapshot_id"),
])
def test_admin_bodies_are_checked_against_their_schema(service, path, body, field):
    status, answer, size = _admin_refused(service, path, body)
    assert status == 422 and answer["field"] == field and size < SMALL_ERROR, answer


def test_an_unknown_role_is_a_422_naming_it_without_quoting_it(service):
    status, answer, size = _admin_refused(service, "/admin/keys", {"role": "r" * 100})
    assert status == 422 and answer["field"] == "role" and "r" * 10 not in answer["error"] and size < SMALL_ERROR


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/admin/models/promote", {"version": "Q" * 100}, 422),
    ("/admin/snapshots/switch", {"snapshot_id": "Q" * 100}, 422),
    (f"/admin/keys/{'Q' * 100}/revoke", None, 404),
])
def test_an_unknown_admin_value_at_the_limit_quotes_at_most_max_echo(service, path, body, status):
    got, answer, size = _admin_refused(service, path, body)
    assert got == status and answer["error"].count("Q") <= MAX_ECHO, answer
    if "version" not in (body or {}):  # an unknown version's error lists the known ones (not input)
        assert size < SMALL_ERROR + MAX_ECHO, answer
