"""A stranger on a shared Space, probing as an attacker would: nothing of another person's leaks, stops or changes.

The app runs as on a shared deployment (local paths off, an admin password set). A victim uses it over the
page's own protocol: uploads a file, trains a run that finishes, queues a second one. Then strangers try:

- the API page (``/gradio_api/info?all_endpoints=true``) and ``gradio_client``: only the script endpoints;
- every event of the page, called by number as the page itself calls them, with the victim's run ids,
  run folders, result folder, upload, ``/etc/passwd``, the app's secret file, ``..`` paths and ``None`` in
  every input, twice over (so a state set by one event feeds the next);
- the script endpoints with the victim's run ids and paths;
- forged session cookies (the victim's id without its signature, a made-up signature);
- a second browser context.

Each answer is searched for what only the victim could know (a marker in their prompts and upload, their
session id, the secret, ``/etc/passwd``'s contents). Afterwards the victim's runs are as they were: the
finished one unchanged on disk, the queued one still queued, and no run of anyone else reads their files.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from core.models.catalog import TINY_MODEL_ID
from core.owners import SESSION_COOKIE, owner_folder_name
from tests.page_client import PageClient

MARKER = "VICTIM-MARKER-7f3a9c"
SCRIPT_ENDPOINTS = {"/start_training", "/run_status", "/stop_training", "/resume_training"}


def _wait(predicate, timeout: float = 180, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"Timed out waiting for {what}")


def _runs(data: Path) -> dict[str, dict]:
    """Every run on the server's disk: id -> state.json (the test reads the server's files, as its admin would)."""
    runs = {}
    for state in (data / "runs").glob("*/state.json"):
        try:
            runs[state.parent.name] = json.loads(state.read_text())
        except (OSError, ValueError):
            continue
    return runs


def _newest_run_of(data: Path, owner: str) -> str:
    """The newest run of one owner (a page's State outputs never come back to it: the server keeps them)."""
    mine = sorted((state["created_at"], run_id) for run_id, state in _runs(data).items() if state["owner"] == owner)
    assert mine, f"no run of {owner!r} on disk"
    return mine[-1][1]


def _tree(folder: Path) -> dict[str, tuple[int, float]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime) for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def shared_space(launch_app):
    env = {
        "SFT_COACH_LOCAL_PATHS": "0",  # as on a Space: no typed paths of server files
        "SFT_COACH_ADMIN_PASSWORD": "correct horse battery staple",
    }
    app = launch_app(env, name="attacks", tracebacks_allowed=True)  # refused requests print tracebacks
    return app, app.data_dir


@pytest.fixture(scope="module")
def victim(shared_space):
    """A person who uploaded a file, trained a run to the end and queued a second one behind a long script run."""
    app, data = shared_space
    page = PageClient(app.url).open()
    rows = [
        {"messages": [{"role": "user", "content": f"{MARKER} q{i}"}, {"role": "assistant", "content": "a"}]}
        for i in range(30)
    ]
    upload = page.upload("victim-notes.jsonl", "\n".join(json.dumps(r) for r in rows).encode())
    assert page.call_named("pick_upload", {"data-upload": upload}).success
    session_id = page.http.cookies.get(SESSION_COOKIE, "").split(".")[0]
    started = page.call_named("start_run", {"own-probes": f"{MARKER} what is my secret?"})
    assert started.success, started.error
    finished_id = _newest_run_of(data, session_id)
    _wait(lambda: _runs(data).get(finished_id, {}).get("phase") == "finished", what="the victim's first run")
    # A long run of a script holds the trainer, so the victim's second run waits in the queue during the attack.
    from gradio_client import Client

    script = Client(app.url, verbose=False)
    holder = script.predict(TINY_MODEL_ID, "json_extraction", 5000, api_name="/start_training")
    _wait(lambda: _runs(data).get(holder, {}).get("phase") == "training", what="the script run")
    queued = page.call_named("start_run", {"own-probes": f"{MARKER} second"})
    assert queued.success, queued.error
    queued_id = _newest_run_of(data, session_id)
    assert queued_id != finished_id and _runs(data)[queued_id]["phase"] == "queued"
    uploads = list((data / "uploads").rglob("victim-notes.jsonl"))
    info = {
        "page": page,
        "finished": finished_id,
        "queued": queued_id,
        "holder": holder,
        "script": script,
        "session_id": session_id,
        "upload": str(uploads[0]) if uploads else str(data / "uploads" / "victim-notes.jsonl"),
        "result": str(_runs(data)[finished_id].get("result_dir") or data / "runs" / finished_id / "final"),
        "data": data,
        "secret": (data / ".secret").read_text().strip(),
    }
    yield info
    script.predict(holder, api_name="/stop_training")
    page.close()


def _payloads(v: dict) -> list[object]:
    data = v["data"]
    return [
        v["finished"],
        v["queued"],
        str(data / "runs" / v["finished"]),
        v["result"],
        v["upload"],
        str(data / ".secret"),
        "/etc/passwd",
        "../../../../../../etc/passwd",
        f"{data}/runs/../.secret",
        v["session_id"],
        None,
    ]


def _forged_inputs(page: PageClient, dep: dict, payload: object) -> list:
    """Every input a text-like component has gets the payload; files point at it; sliders and boxes keep defaults."""
    data = page.data_for(dep)
    for position, component_id in enumerate(dep["inputs"]):
        kind = page.component(component_id).get("type")
        if kind in ("textbox", "dropdown", "radio", "api", "chatbot", "html", "markdown"):
            data[position] = payload
        elif kind == "file" and isinstance(payload, str):
            data[position] = {"path": payload, "orig_name": "x.jsonl", "meta": {"_type": "gradio.FileData"}}
    return data


def _assert_nothing_leaked(text: str, v: dict, payload: object, where: str) -> None:
    """Nothing only the victim knows is in ``text``, except what the stranger sent (an error may repeat it)."""
    known = [MARKER, v["secret"], "root:x:0:0", v["session_id"], owner_folder_name(v["session_id"] or "-")]
    known += [v["finished"], v["queued"]]
    for secret in known:
        if secret and secret not in str(payload):
            assert secret not in text, f"{where} with {payload!r} showed {secret!r}: {text[:600]}"


def test_the_api_lists_only_the_script_endpoints(shared_space):
    app, _ = shared_space
    info = httpx.get(app.url + "gradio_api/info", params={"all_endpoints": "true"}).json()
    assert set(info["named_endpoints"]) == SCRIPT_ENDPOINTS and not info.get("unnamed_endpoints")
    from gradio_client import Client

    with pytest.raises(Exception, match="(?i)cannot find|not found|no endpoint|api_name"):
        Client(app.url, verbose=False).predict(None, 0.6, "step", api_name="/refresh_5")
    called = httpx.post(app.url + "gradio_api/call/refresh_5", json={"data": [None, 0.6, "step"]})
    assert called.status_code >= 400


def test_every_page_event_called_by_a_stranger_reaches_nothing_of_the_victim(victim):
    before = _tree(victim["data"] / "runs" / victim["finished"])
    stranger = PageClient(victim["page"].base).open()
    try:
        events = [d for d in stranger.dependencies if d.get("api_name") not in {e[1:] for e in SCRIPT_ENDPOINTS}]
        assert len(events) > 50  # the whole page, not a sample
        for payload in _payloads(victim):
            for _ in range(2):  # a state one event sets (the picked run) feeds the events after it
                for dep in events:
                    result = stranger.call(dep["id"], _forged_inputs(stranger, dep, payload), timeout=120)
                    _assert_nothing_leaked(result.raw, victim, payload, f"event {dep['api_name']}")
    finally:
        stranger.close()
    runs = _runs(victim["data"])
    assert runs[victim["finished"]]["phase"] == "finished"
    assert runs[victim["queued"]]["phase"] == "queued", "a stranger cancelled the victim's waiting run"
    assert _tree(victim["data"] / "runs" / victim["finished"]) == before, "a stranger changed the victim's run"
    for run_id, state in runs.items():  # no run of anyone else trains on the victim's model or data
        config = json.loads((victim["data"] / "runs" / run_id / "config.json").read_text())
        if state.get("owner") != victim["session_id"]:
            inputs = f"{config['model_id']} {config['dataset']}"
            assert victim["finished"] not in inputs and "uploads" not in inputs and ".secret" not in inputs


def test_a_strangers_wrong_passwords_do_not_lock_the_admin_out(victim):
    """The fuzzing above sent dozens of wrong passwords; the admin, from their own address, still gets in."""
    stranger = PageClient(victim["page"].base, headers={"X-Forwarded-For": "203.0.113.66"}).open()
    admin = PageClient(victim["page"].base, headers={"X-Forwarded-For": "198.51.100.2"}).open()
    try:
        for _ in range(6):
            stranger.call_named("open_view", {"admin-password": "guess"})
        assert "Too many wrong passwords" in stranger.call_named("open_view", {"admin-password": "guess"}).raw
        opened = admin.call_named("open_view", {"admin-password": "correct horse battery staple"})
        assert "Admin view open" in opened.raw and victim["queued"] in opened.raw
        # the admin's unlocked page is theirs: a stranger who reuses its session hash is not let in
        impostor = PageClient(victim["page"].base, session_hash=admin.session_hash).open()
        shown = impostor.call_named("show", {})
        assert victim["queued"] not in shown.raw and "password first" in shown.raw
    finally:
        stranger.close()
        admin.close()


def test_the_script_endpoints_reach_no_persons_run_or_files(victim):
    from gradio_client import Client

    client = Client(victim["page"].base, verbose=False)
    for run_id in (victim["finished"], victim["queued"]):
        with pytest.raises(Exception, match="no run with id"):
            client.predict(run_id, api_name="/run_status")
        assert client.predict(run_id, api_name="/stop_training") is False
        with pytest.raises(Exception, match="no run with id"):
            client.predict(run_id, api_name="/resume_training")
    for model, dataset in ((victim["result"], "json_extraction"), (TINY_MODEL_ID, victim["upload"])):
        with pytest.raises(Exception, match="is not a (model folder|dataset) you can use here"):
            client.predict(model, dataset, 2, api_name="/start_training")
    assert _runs(victim["data"])[victim["queued"]]["phase"] == "queued"


def test_the_ticks_off_the_queue_know_a_person_by_their_cookie_not_by_their_page(victim):
    """The Train step's tick and the script poll skip the queue: one POST each, which a stranger can send too.

    The tick is sent as the page sends it, by the victim (it finds their run: its state changes), and by a stranger
    who reuses the victim's session hash, so the victim's page state on the server (their run id) feeds it.
    """
    page = victim["page"]
    tick = next(d for d in page.dependencies if any(t[1] == "tick" for t in d["targets"]))
    assert tick.get("queue") is False and page.dependency("run_status").get("queue") is False
    own = page.call(tick["id"], page.data_for(tick))
    # the victim's fresh page has drawn nothing yet, so the tick hands it a new token (not a skip) to redraw on
    assert own.success and isinstance(own.data[0], str) and own.data[0].isdigit(), own.raw
    impostor = PageClient(page.base, session_hash=page.session_hash).open()
    try:
        for payload in _payloads(victim):
            ticked = impostor.call(tick["id"], _forged_inputs(impostor, tick, payload))
            _assert_nothing_leaked(ticked.raw, victim, payload, "the tick")
            shown = impostor.call_named("refresh", {})  # what the tick's change event would draw
            assert shown.success, shown.error
            _assert_nothing_leaked(shown.raw, victim, payload, "the redraw after a tick")
        for run_id in (victim["finished"], victim["queued"]):
            body = {"data": [run_id], "fn_index": page.dependency("run_status")["id"], "event_data": None}
            for asker in (impostor, page):  # a browser's own run is not a script's either
                answer = asker.call_direct({**body, "session_hash": asker.session_hash, "trigger_id": None})
                assert not answer.success and "no run with id" in answer.error, answer.raw
        start = page.dependency("start_run")  # a queued event can't be sent past the queue and its limits
        body = {"data": page.data_for(start), "fn_index": start["id"], "session_hash": impostor.session_hash}
        skipped = impostor.call_direct({**body, "event_data": None, "trigger_id": None})
        assert not skipped.success and "join the queue" in skipped.raw, skipped.raw
    finally:
        impostor.close()
    assert _runs(victim["data"])[victim["queued"]]["phase"] == "queued"


@pytest.mark.parametrize("forge", ["unsigned", "bad-signature", "account"])
def test_a_forged_session_cookie_is_a_new_stranger(victim, forge):
    session_id = victim["session_id"]
    value = {
        "unsigned": session_id,
        "bad-signature": f"{session_id}.{'0' * 32}",
        "account": "hf:victim." + "0" * 32,
    }[forge]
    stranger = PageClient(victim["page"].base, cookies={SESSION_COOKIE: value}).open()
    try:
        for api_name in ("refresh", "refresh_lists", "removal_notice", "stop_run"):
            dep = stranger.dependency(api_name)
            result = stranger.call(dep["id"], stranger.data_for(dep))
            _assert_nothing_leaked(result.raw, victim, value, api_name)
    finally:
        stranger.close()
    assert _runs(victim["data"])[victim["queued"]]["phase"] == "queued"


def test_the_victim_still_sees_and_controls_their_own_runs(victim):
    page = victim["page"]
    shown = page.call_named("refresh", {})
    # their newest run, in their own session
    assert shown.success and f"title='run id'>{victim['queued']}<" in shown.raw
    models = page.call_named("refresh_lists", {})
    assert models.success and victim["finished"] in models.raw  # their result is in their own model lists
    assert page.call_named("stop_run", {}).success
    _wait(lambda: _runs(victim["data"])[victim["queued"]]["phase"] == "cancelled", what="the victim's own cancel")


@pytest.mark.browser
def test_a_second_browser_sees_none_of_the_victims_runs_or_models(victim):
    from tests.browser import chromium_page, open_tab, shot

    with chromium_page() as (page, _errors):
        page.goto(victim["page"].base)
        open_tab(page, "4 · Train")
        page.locator("#run-status").wait_for()
        time.sleep(2)  # a few timer ticks
        open_tab(page, "5 · Try it")
        page.locator("#tryit-refresh").click()
        time.sleep(2)
        html = page.content()
        shot(page, "attack-second-browser")
    for secret in (victim["finished"], victim["queued"], MARKER, victim["session_id"]):
        assert secret not in html
