"""One real BentoML server (`bentoml serve`) on loopback for the service tests, with the embedded
redis-server behind it."""

import json
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.models.registry import champions, read_registry
from outscaled.online.redis_server import connect, stop_embedded
from outscaled.online.service_process import free_port, running_service
from outscaled.online.snapshot import publish
from tests.conftest import environment


@pytest.fixture(scope="session")
def service(served_home, tmp_path_factory):
    with environment(OUTSCALED_HOME=str(served_home)):
        settings = replace(load_settings(), redis_url=None)
    catalog = open_catalog(settings)
    publish(connect(settings), catalog, champions(read_registry(catalog)))  # the embedded server
    log = tmp_path_factory.mktemp("service") / "service.log"
    with running_service(settings, free_port(), log) as base_url:
        yield base_url, settings
    stop_embedded(settings)


def call(base_url: str, path: str, body=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method or ("POST" if body is not None else "GET"),
                                     headers={"content-type": "application/json"})
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


