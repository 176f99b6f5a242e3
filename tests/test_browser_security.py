"""Hostile text in a real browser: script and <img onerror> payloads in uploaded data, in the user's own
probe prompts (shown in the samples table) and in a chat message are shown as text and never run.

Every payload sets ``window.__xss`` if it ever executes; the test reads it at the end.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser import chromium_page, shot, wait_for

pytestmark = pytest.mark.browser
IMG = '<img src=x onerror="window.__xss = (window.__xss || 0) + 1">'
SCRIPT = "<script>window.__xss = (window.__xss || 0) + 1</script>"


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
        wait_for(lambda: "onerror" in page.locator("#training-preview").inner_text(), 180, what="the loss preview")
        assert "<script>" in page.locator("#data-preview").inner_text()  # visible as text

        page.get_by_role("tab", name="4 · Train").click()
        own = page.locator("#own-probes textarea")
        own.fill(f"Extract {IMG}")
        page.locator("#start-training").click()
        samples = page.locator("#samples")
        wait_for(lambda: "onerror" in samples.inner_text(), what="the samples table with the own prompt")
        page.locator("#stop-training").click()

        page.get_by_role("tab", name="5 · Try it").click()
        page.locator("#tryit-device").get_by_text("Where chat runs").wait_for(timeout=90_000)
        page.locator("#chat-message textarea").fill(f"Tell me {IMG} {SCRIPT}")
        page.locator("#chat-send").click()
        wait_for(lambda: page.locator("#chat-window").get_by_text("Tell me", exact=False).count() > 0, what="the chat")
        time.sleep(2)  # give any payload the chance to fire
        shot(page, "security-payloads-as-text")

        assert _injected(page) == 0
        assert page.evaluate("() => window.__xss") is None
        assert not errors, errors
