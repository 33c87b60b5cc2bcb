"""Helpers for the service tests; the `service` fixture (the real `bentoml serve` with the embedded
redis-server behind it, auth on) is in tests/conftest.py, shared with the platform's HTTP tests."""

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import SERVICE_AUTH


def call(base_url: str, path: str, body=None, method=None, headers: dict[str, str] | None = None):
    """A request as the tests' reader (SERVICE_AUTH) unless `headers` says otherwise; (status, JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method or ("POST" if body is not None else "GET"),
                                     headers={"content-type": "application/json",
                                              **(SERVICE_AUTH if headers is None else headers)})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="session")
def star(service):
    base_url, _ = service
    _, found = call(base_url, "/players?q=")
    return found["players"][0]["name"]


