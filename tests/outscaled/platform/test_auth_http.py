"""Keys, roles and limits on the real service (the session `service` of tests/conftest.py: `bentoml serve`
with auth on, an HS256 secret, admins limited to 5/s with a burst of 10): 401, 403, 429 and their
headers, keys and JWTs admitted, revocation within the cache TTL, the open routes, the admin routes."""

import json
import time
import urllib.error
import urllib.request

import jwt
import pytest

from outscaled.platform.keys import create_key
from tests.conftest import SERVICE_AUTH, TEST_JWT_SECRET


def _request(base_url: str, path: str, token: str | None = None, body=None, headers=None):
    """(status, headers, JSON body or None) for a request with `token` as the bearer credential."""
    sent = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {}),
            **(headers or {})}
    request = urllib.request.Request(base_url + path, data=None if body is None else json.dumps(body).encode(),
                                     headers=sent, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, error.headers, error.read()
    try:
        return status, answer_headers, json.loads(raw)
    except ValueError:
        return status, answer_headers, None


def _token(**claims) -> str:
    base = {"sub": "alice", "role": "reader", "aud": "outscaled", "exp": int(time.time()) + 60}
    return jwt.encode({k: v for k, v in {**base, **claims}.items() if v is not None}, TEST_JWT_SECRET, "HS256")


@pytest.fixture(scope="module")
def reader(service):
    return create_key(service[1], "reader", "auth tests").key


@pytest.fixture(scope="module")
def star(service, reader) -> str:
    return _request(service[0], "/players?q=", reader)[2]["players"][0]["name"]


def _unauthorized(answer) -> str:
    status, headers, body = answer
    assert status == 401, (status, body)
    assert headers["www-authenticate"].startswith('Bearer realm="outscaled"')
    assert headers["content-type"] == "application/json"
    return body["error"]


def test_no_credential_is_a_401_that_says_how_to_get_a_key(service):
    base_url, _ = service
    for path in ("/teams", "/predict/curve/x", "/models/status", "/admin/keys", "/no/such/route"):
        assert "outscaled keys create" in _unauthorized(_request(base_url, path))
    assert "outscaled keys create" in _unauthorized(_request(base_url, "/predict/single", body={"player": "x"}))
    assert _request(base_url, "/teams", headers={"authorization": "Basic dXNlcjpwdw=="})[0] == 401


@pytest.mark.parametrize(("credential", "says"), [  # made when the test runs (the tokens expire in a minute)
    (lambda: "osk_000000000000_" + "x" * 43, "unknown or revoked"),
    (lambda: "not-a-key-or-token", "invalid token"),
    (lambda: _token(exp=int(time.time()) - 5), "expired"),
    (lambda: _token(aud="someone-else"), "not for this service"),
    (lambda: _token(aud=None), "invalid token"),
    (lambda: _token(role="owner"), "role claim"),
    (lambda: jwt.encode({"sub": "eve", "role": "admin", "aud": "outscaled", "exp": int(time.time()) + 60},
                        "another-secret-of-at-least-32-bytes-long", "HS256"), "invalid token"),
], ids=["unknown-key", "garbage", "expired-jwt", "wrong-aud", "no-aud", "bad-role", "forged-jwt"])
def test_bad_credentials_are_401(service, credential, says):
    assert says in _unauthorized(_request(service[0], "/teams", credential()))


def test_a_reader_key_predicts_and_sees_its_limit(service, reader, star):
    status, headers, answer = _request(service[0], "/predict/single", reader,
                                       body={"player": star, "stat": "kills", "line": 3.5})
    assert status == 200 and answer["player"] == star
    assert int(headers["ratelimit-limit"]) == 100_000 and int(headers["ratelimit-remaining"]) >= 99_990
    assert headers["ratelimit-reset"].isdigit() and "retry-after" not in headers
    assert _request(service[0], "/teams", headers={"x-api-key": reader})[0] == 200


def test_a_jwt_is_admitted_with_its_subject_and_role(service):
    status, _, body = _request(service[0], "/teams", _token())
    assert status == 200 and body["teams"]
    status, _, body = _request(service[0], "/admin/whoami", _token(sub="ops", role="admin"))
    assert (status, body) == (200, {"id": "ops", "role": "admin", "kind": "jwt"})


def test_a_reader_on_an_admin_route_is_a_403(service, reader):
    for path in ("/admin/keys", "/admin/whoami"):
        status, _, body = _request(service[0], path, reader)
        assert status == 403 and "needs the admin role" in body["error"]
    assert _request(service[0], "/admin/snapshots/rollback", _token(), body={})[0] == 403


def test_a_revoked_key_is_refused_within_the_cache_ttl(service):
    base_url, settings = service
    admin = create_key(settings, "admin", "revoker").key
    victim = create_key(settings, "reader", "to revoke").key
    assert _request(base_url, "/teams", victim)[0] == 200
    victim_id = victim.split("_")[1]
    status, _, body = _request(base_url, f"/admin/keys/{victim_id}/revoke", admin, body={})
    assert status == 200 and body["revoked"] == victim_id
    time.sleep(1.2)  # OUTSCALED_KEY_CACHE_SECONDS=1 in the test service
    assert "unknown or revoked" in _unauthorized(_request(base_url, "/teams", victim))


def test_over_the_limit_is_a_429_with_retry_after(service):
    """Admins get 5/s with a burst of 10 here: 20 requests in a row pass only if they take over 2 s."""
    admin = create_key(service[1], "admin", "rate test").key
    answers = [_request(service[0], "/tournaments", admin) for _ in range(20)]
    statuses = [status for status, _, _ in answers]
    assert statuses[:9] == [200] * 9 and 429 in statuses, statuses
    remaining = [int(headers["ratelimit-remaining"]) for _, headers, _ in answers[:9]]
    assert remaining == sorted(remaining, reverse=True) and remaining[0] == 9
    _, headers, body = answers[statuses.index(429)]
    assert int(headers["retry-after"]) == 1 and headers["ratelimit-limit"] == "10"
    assert headers["ratelimit-remaining"] == "0" and int(headers["ratelimit-reset"]) >= 1
    assert "rate limit" in body["error"]
    time.sleep(1.0)  # 5 tokens back
    assert _request(service[0], "/tournaments", admin)[0] == 200


def test_health_readiness_docs_and_the_page_are_open(service):
    for path in ("/health", "/ready", "/livez", "/readyz", "/docs.json", "/"):
        status, headers, _ = _request(service[0], path)
        assert status == 200, path
        assert "ratelimit-limit" not in headers


def test_the_page_turns_a_key_into_a_cookie_for_its_own_requests(service, reader):
    _, headers, _ = _request(service[0], f"/?key={reader}")
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"outscaled_key={reader};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert _request(service[0], "/teams", headers={"cookie": f"outscaled_key={reader}"})[0] == 200
    assert "set-cookie" not in _request(service[0], "/?key=osk_bad_key")[1]


def test_admins_manage_keys_over_http(service):
    base_url, settings = service
    admin = create_key(settings, "admin", "key manager").key
    status, _, created = _request(base_url, "/admin/keys", admin, body={"role": "reader", "name": "made over http"})
    assert status == 201 and created["key"].startswith(f"osk_{created['key_id']}_")
    assert _request(base_url, "/teams", created["key"])[0] == 200
    status, _, listed = _request(base_url, "/admin/keys", admin)
    assert status == 200 and created["key_id"] in {k["key_id"] for k in listed["keys"]}
    assert all("key" not in k and "digest" not in k for k in listed["keys"])
    assert _request(base_url, "/admin/keys", admin, body={"role": "root"})[0] == 422
    assert _request(base_url, "/admin/snapshots/switch", admin, body={"snapshot_id": "nope"})[0] == 422
