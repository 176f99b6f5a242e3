"""Hostile text in a real browser: script and <img onerror> payloads in uploaded data, in the user's own
probe prompts (shown in the samples table) and in a chat message are shown as text and never run.

Every payload sets ``window.__xss`` if it ever executes; the test reads it at the end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.models.catalog import TINY_MODEL_ID
from tests.app_server import AppServer
from tests.browser import chromium_page

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
IMG = '<img src=x onerror="window.__xss = (window.__xss || 0) + 1">'
SCRIPT = "<script>window.__xss = (window.__xss || 0) + 1</script>"


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_path):
    folder = tmp_path_factory.mktemp("browser-security")
    app = AppServer(folder / "data", folder / "server.log", {"SFT_COACH_DEFAULT_MODEL": TINY_MODEL_ID})
    app.wait_until_up()
    yield app
    app.stop()
    assert "Traceback" not in app.log(), app.log()[-4000:]


def _wait(predicate, timeout: float = 120, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"Timed out waiting for {what}")


def _injected(page) -> int:
    """How many payload images made it into the DOM as real elements (escaped text creates none)."""
    return page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length")


def test_payloads_in_data_samples_and_chat_are_shown_as_text(server, tmp_path):
    turns = [{"role": "user", "content": f"Hi {IMG} {SCRIPT}"}, {"role": "assistant", "content": f"Ok {IMG}"}]
    rows = [{"messages": turns} for _ in range(30)]
    upload = tmp_path / "hostile.jsonl"
    upload.write_text("\n".join(json.dumps(r) for r in rows))

    with chromium_page() as (page, errors):
        page.goto(server.url)
        page.get_by_role("tab", name="2 · Data").click()
        page.get_by_role("tab", name="Upload a file").click()
        page.locator("#data-upload input[type=file]").set_input_files(str(upload))
        page.locator("#data-detected").get_by_text("hostile.jsonl").first.wait_for()
        page.locator("#data-preview").get_by_text("onerror", exact=False).first.wait_for()
        # the loss preview renders each token in its own span: read the element's whole text
        _wait(lambda: "onerror" in page.locator("#training-preview").inner_text(), 180, "the loss preview")
        assert "<script>" in page.locator("#data-preview").inner_text()  # visible as text

        page.get_by_role("tab", name="4 · Train").click()
        own = page.locator("#own-probes textarea")
        own.fill(f"Extract {IMG}")
        page.locator("#start-training").click()
        samples = page.locator("#samples")
        _wait(lambda: "onerror" in samples.inner_text(), what="the samples table with the own prompt")
        page.locator("#stop-training").click()

        page.get_by_role("tab", name="5 · Try it").click()
        page.locator("#tryit-device").get_by_text("Where chat runs").wait_for(timeout=90_000)
        page.locator("#chat-message textarea").fill(f"Tell me {IMG} {SCRIPT}")
        page.locator("#chat-send").click()
        _wait(lambda: page.locator("#chat-window").get_by_text("Tell me", exact=False).count() > 0, what="the chat")
        time.sleep(2)  # give any payload the chance to fire
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "security-payloads-as-text.png"), full_page=True)

        assert _injected(page) == 0
        assert page.evaluate("() => window.__xss") is None
        assert not errors, errors
