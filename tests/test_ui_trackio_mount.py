"""Each person's trackio dashboard, served under /trackio/ by the app: their own project and nothing else.

trackio's real dashboard (the installed trackio's Starlette app) runs behind the app's own middleware, as in
``app.py``; two people have logged runs. Each asks for the other's project every way the dashboard's API takes
it (a keyword, positional arguments, a query string, a file path), and for the calls that write or delete.
"""

from __future__ import annotations

import secrets

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from core.owners import SESSION_COOKIE, _signature
from core.tracking import trackio_project
from ui.identity import SessionCookieMiddleware
from ui.trackio_mount import TrackioMount

SECRET = "test-secret"
ANN, BOB = secrets.token_hex(16), secrets.token_hex(16)  # session ids, as the app issues them


@pytest.fixture(scope="module")
def logged_runs():
    """One run of each person in trackio's database (trackio writes where TRACKIO_DIR points, tests/conftest.py)."""
    import trackio

    for owner, name in ((ANN, "ann-run"), (BOB, "bob-run")):
        trackio.init(project=trackio_project(owner), name=name)
        for step in range(3):
            trackio.log({"train/loss": 1.0 / (step + 1)})
        trackio.finish()


def _client(owner: str | None) -> TestClient:
    gradio_stand_in = Starlette(routes=[Route("/", lambda request: PlainTextResponse("the page"))])
    client = TestClient(SessionCookieMiddleware(TrackioMount(gradio_stand_in), secret=SECRET))
    if owner:
        client.cookies.set(SESSION_COOKIE, f"{owner}.{_signature(owner, SECRET)}")
    return client


def _call(client: TestClient, name: str, body) -> tuple[int, object]:
    answer = client.post(f"/trackio/api/{name}", json=body)
    return answer.status_code, answer.json()


def test_a_person_sees_their_own_project_and_runs(logged_runs):
    ann = _client(ANN)
    assert ann.get("/").text == "the page"  # everything else is the app's
    page = ann.get("/trackio/", params={"project": trackio_project(ANN)})
    assert page.status_code == 200 and 'window.__trackio_base = "/trackio"' in page.text  # trackio's own page
    assert _call(ann, "get_all_projects", {}) == (200, {"data": [trackio_project(ANN)]})
    status, runs = _call(ann, "get_runs_for_project", {"project": trackio_project(ANN)})
    assert status == 200 and [run["name"] for run in runs["data"]] == ["ann-run"], runs
    status, logs = _call(ann, "get_logs", {"project": trackio_project(ANN), "run": "ann-run"})
    assert status == 200 and [row["train/loss"] for row in logs["data"]] == pytest.approx([1.0, 0.5, 1 / 3])
    assert ANN not in trackio_project(ANN)  # the project's name, seen in links, gives no session id away


def test_nobody_reads_or_changes_another_persons_project(logged_runs):
    ann, bob = _client(ANN), trackio_project(BOB)
    for body in ({"project": bob}, {"args": [bob]}, {"data": [bob]}, [bob], {"kwargs": {"project": bob}}):
        status, answer = _call(ann, "get_runs_for_project", body)
        assert status in (400, 403) and "bob-run" not in str(answer), (body, answer)
    for name in ("log", "bulk_log", "delete_run", "rename_run", "query_project", "upload_db_to_space", "force_sync"):
        status, answer = _call(ann, name, {"project": trackio_project(ANN)})
        assert status == 403, (name, answer)
    assert _call(ann, "get_run_mutation_status", {})[1]["data"]["allowed"] is False
    from trackio import utils

    for path in (utils.TRACKIO_DIR / f"{bob}.db", utils.project_media_dir(bob) / "files" / "x.png", "/etc/passwd"):
        assert ann.get("/trackio/file", params={"path": str(path)}).status_code == 404
    for path in ("/trackio/api/upload", "/trackio/gradio_api/info", "/trackio/mcp", "/trackio/oauth/hf/start"):
        assert ann.request("POST" if path.endswith("upload") else "GET", path).status_code == 403, path
    # A browser with no valid cookie is a new person with no runs: an empty list, nobody's project.
    for stranger in (_client(None), _client("0123456789abcdef0123456789abcdef")):
        assert _call(stranger, "get_all_projects", {}) == (200, {"data": []})
        assert _call(stranger, "get_logs", {"project": trackio_project(ANN), "run": "ann-run"})[0] == 403
