"""The Dagster UI end to end: `outscaled ui` (dagster dev) on a real home, in its own process group, driven
in headless Chromium (Debian's, through Playwright): the asset graph shows the lakehouse layers and the
asset checks, a materialization launched from the UI's own button succeeds, and screenshots are saved."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from outscaled.config import PROJECT_ROOT
from outscaled.online.service_process import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT_DIR = PROJECT_ROOT / "benchmarks" / "out" / "dagster-ui"
LAUNCHED_ASSET = ("gold", "feature_drift")  # one Iceberg table from gold.player_features, seconds to build
UI_START_SECONDS = 240
RUN_SECONDS = 300


def _graphql(base_url: str, query: str) -> dict:
    request = urllib.request.Request(f"{base_url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _asset_keys(base_url: str) -> list[tuple[str, ...]]:
    """The asset keys the UI's code location serves (empty while it is still loading)."""
    try:
        nodes = _graphql(base_url, "{ assetNodes { assetKey { path } } }")["assetNodes"]
    except (OSError, KeyError, TypeError, ValueError):
        return []
    return [tuple(node["assetKey"]["path"]) for node in nodes]


def _runs(base_url: str) -> list[dict]:
    query = "{ runsOrError { ... on Runs { results { runId status assetSelection { path } } } } }"
    return _graphql(base_url, query)["runsOrError"]["results"]


@pytest.fixture
def dagster_ui(built_home, tmp_path):
    """`outscaled ui` (the user's own command) on built_home, its log under tmp_path; yields the URL. The run it
    launches writes gold.feature_drift there, which no other test reads."""
    port = free_port()
    log = open(tmp_path / "ui.log", "wb")
    env = {**os.environ, "OUTSCALED_HOME": str(built_home)}
    process = subprocess.Popen([sys.executable, "-m", "outscaled.cli", "ui", "--port", str(port)], cwd=PROJECT_ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + UI_START_SECONDS
        while not _asset_keys(base_url):
            assert process.poll() is None, (tmp_path / "ui.log").read_text()[-4000:]
            assert time.monotonic() < deadline, f"no assets in the UI after {UI_START_SECONDS} s"
            time.sleep(1)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # `outscaled ui` ends dagster dev's tree (guardian, grace)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/system.sh installs it)")
def test_ui_shows_the_lakehouse_and_launches_a_materialization(dagster_ui):
    from playwright.sync_api import expect, sync_playwright

    keys = _asset_keys(dagster_ui)
    layers = {key[0] for key in keys}
    assert {"bronze", "silver", "gold"} <= layers, layers
    assert LAUNCHED_ASSET in keys
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    runs_before = {run["runId"] for run in _runs(dagster_ui)}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        # a first visit gets a "Join the Dagster community" dialog over the page, whenever it has loaded:
        # Playwright clicks its Skip before any action it would block
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        try:
            # the global lineage: one box per group, the lakehouse layers among them
            page.goto(f"{dagster_ui}/asset-groups")
            for layer in ("bronze", "silver", "gold"):
                expect(page.get_by_text(layer, exact=True).first).to_be_visible()
            page.screenshot(path=SCREENSHOT_DIR / "asset-graph.png")

            # the Great Expectations suites, as asset checks on a bronze table
            page.goto(f"{dagster_ui}/assets/bronze/player_games?view=checks")
            expect(page.get_by_text("gx_bronze_player_games", exact=False).first).to_be_visible()
            page.screenshot(path=SCREENSHOT_DIR / "asset-checks.png")

            # a materialization launched with the UI's own button
            page.goto(f"{dagster_ui}/assets/{'/'.join(LAUNCHED_ASSET)}")
            page.get_by_text("Materialize", exact=True).first.click()
            # gold.player_features was built by dbt outside this Dagster instance, so the UI asks first
            confirm = page.get_by_role("button", name="Confirm")
            deadline = time.monotonic() + RUN_SECONDS
            while not (launched := [r for r in _runs(dagster_ui) if r["runId"] not in runs_before]):
                assert time.monotonic() < deadline, "no run was launched by the Materialize button"
                if confirm.count() and confirm.first.is_visible():
                    confirm.first.click()
                time.sleep(0.5)
            run = launched[0]
            assert [list(LAUNCHED_ASSET)] == [key["path"] for key in run["assetSelection"]], run
            while run["status"] not in ("SUCCESS", "FAILURE", "CANCELED"):
                assert time.monotonic() < deadline, f"run {run['runId']} still {run['status']} after {RUN_SECONDS} s"
                time.sleep(1)
                run = next(r for r in _runs(dagster_ui) if r["runId"] == run["runId"])
            page.goto(f"{dagster_ui}/runs/{run['runId']}")
            expect(page.get_by_text("RUN_SUCCESS" if run["status"] == "SUCCESS" else "RUN_FAILURE").first
                   ).to_be_visible()
            page.screenshot(path=SCREENSHOT_DIR / "run.png")
            assert run["status"] == "SUCCESS", run
        except Exception:
            page.screenshot(path=SCREENSHOT_DIR / "failure.png")
            raise
        finally:
            browser.close()
    for name in ("asset-graph.png", "asset-checks.png", "run.png"):
        assert (SCREENSHOT_DIR / name).stat().st_size > 10_000, name
