"""Try it in a real browser: a run's model comes with the system prompt it was trained with, in view.

A 4-step run of the tiny model on the JSON demo is trained through the Train tab first (seconds), so the
worker records the demo's system prompt; screenshots go to ``test-artifacts/screenshots`` at 1366x768.
"""

from __future__ import annotations

import pytest

from tests.browser import app_errors, chromium_page, shot, train_demo_run, wait_for

pytestmark = pytest.mark.browser

DEMO_PROMPT = "Extract the facts from the text as a JSON object."


def test_a_finished_runs_system_prompt_is_filled_in_and_shown(launch_app):
    app = launch_app(name="tryit-prompt")
    with chromium_page() as (page, errors):
        page.goto(app.url)
        run_id = train_demo_run(page)
        assert (app.data_dir / "runs" / run_id / "trained-with.json").is_file()
        page.locator("#next-tryit").click()
        page.locator("#tryit-device").get_by_text("Where chat runs").wait_for(timeout=90_000)

        box = page.locator("#tryit-system-prompt textarea")
        wait_for(lambda: box.input_value() == DEMO_PROMPT, what="the run's system prompt in the box")
        assert box.is_visible()  # above the tabs, not folded away in the generation settings
        picked = page.locator("#chat-model input").input_value()
        assert picked.startswith("json-extraction · tiny-random-llama · ") and run_id not in picked, picked
        assert "was trained with" in page.locator("#system-prompt-note").inner_text()
        shot(page, "tryit-system-prompt-filled")

        assert not app_errors(errors), errors
