"""The launched app, driven through its API with gradio_client: start -> poll -> finish."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest
from gradio_client.exceptions import AppError

from core.models.catalog import TINY_MODEL_ID


@pytest.fixture(scope="module")
def server(launch_app):
    """The launched app; its log may hold tracebacks: the bad requests below make Gradio print one for each."""
    return launch_app(tracebacks_allowed=True)


def _wait_for(client, run_id: str, phases: tuple[str, ...], timeout: float = 300) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.predict(run_id, api_name="/run_status")
        if status["phase"] in phases:
            return status
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} never reached {phases}; last status: {status}")


def test_start_poll_finish_through_the_api(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    run_id = client.predict(TINY_MODEL_ID, "json_extraction", 6, api_name="/start_training")
    status = _wait_for(client, run_id, ("finished", "failed", "stopped"))
    assert status["phase"] == "finished", status
    assert len(status["losses"]) == 6
    assert status["samples"][0]["step"] == 0
    assert status["load_check"].startswith("Reloaded from disk")
    assert "Traceback" not in server.log()


def test_bad_requests_get_clear_errors_and_the_app_keeps_serving(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    with pytest.raises(Exception, match="no run with id"):
        client.predict("not-a-run", api_name="/run_status")
    with pytest.raises(Exception, match="max_steps"):
        client.predict(TINY_MODEL_ID, "json_extraction", -5, api_name="/start_training")
    run_id = client.predict(TINY_MODEL_ID, "json_extraction", 2, api_name="/start_training")
    assert _wait_for(client, run_id, ("finished", "failed"))["phase"] == "finished"


def test_a_failing_run_is_reported_and_the_next_one_works(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    with pytest.raises(AppError, match="not a model folder you can use here"):  # refused before a run exists
        client.predict("/nonexistent/model/folder", "json_extraction", 2, api_name="/start_training")
    run_id = client.predict("nobody/no-such-model", "json_extraction", 2, api_name="/start_training")
    status = _wait_for(client, run_id, ("finished", "failed"))
    assert status["phase"] == "failed"
    assert "HF_HUB_OFFLINE is set" in status["error"]
    run_id = client.predict(TINY_MODEL_ID, "json_extraction", 2, api_name="/start_training")
    assert _wait_for(client, run_id, ("finished", "failed"))["phase"] == "finished"


def test_the_page_is_the_one_gradio_builds_for_the_address_with_a_cookie_per_visitor(server):
    """The page is kept once built (ui/page_cache.py): the same bytes, the root of the address asked under."""
    app = server

    def visit(url: str) -> tuple[bytes, str]:
        with urllib.request.urlopen(url) as response:
            return response.read(), response.headers["set-cookie"]

    cached = [visit(app.url) for _ in range(3)]
    built, _ = visit(app.url + "?uncached=1")  # a query goes past the cache to Gradio's own route
    assert cached[0][0] == cached[1][0] == cached[2][0] == built  # the very bytes Gradio builds
    assert len({cookie for _, cookie in cached}) == 3
    root = re.search(rb'"root":\s*"([^"]*)"', built).group(1)
    assert root == app.url.rstrip("/").encode()
    via_proxy = urllib.request.Request(app.url, headers={"X-Forwarded-Host": "space.example"})
    with urllib.request.urlopen(via_proxy) as response:
        assert b'"root":"http://space.example"' in response.read().replace(b": ", b":")
    assert visit(app.url)[0] == built
