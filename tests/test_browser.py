"""The guided flow in a real browser (Debian's Chromium through Playwright), as a newcomer would use it.

The app runs on loopback with the tiny random model preselected
(``SFT_COACH_DEFAULT_MODEL``) so training takes seconds. Each step asserts
what a person sees, and saves a screenshot to ``test-artifacts/screenshots``
at 1366x768 (plus a narrow phone width for the main steps).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from core.models import TINY_MODEL_ID
from tests.app_server import AppServer
from tests.browser import chromium_page

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
# Messages the browser prints that are not errors of this app (none are known today; keep this list short).
IGNORED_CONSOLE = ()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_path):
    folder = tmp_path_factory.mktemp("browser")
    app = AppServer(folder / "data", folder / "server.log", {"SFT_COACH_DEFAULT_MODEL": TINY_MODEL_ID})
    app.wait_until_up()
    yield app
    app.stop()
    log = app.log()
    assert "Traceback" not in log, log[-4000:]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def plot_points(page, elem_id: str) -> list[int]:
    """Number of points in each trace of a plotly chart, read from the page."""
    return page.evaluate(
        """(id) => { const p = document.querySelector('#' + id + ' .js-plotly-plot');
                     return p && p.data ? p.data.map(t => (t.x || []).length) : []; }""",
        elem_id,
    )


def wait_for(predicate, timeout: float = 120, interval: float = 0.5, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def run_phase(page) -> str:
    return page.locator("#run-status .coach-badge").inner_text(timeout=5000)


def test_the_guided_flow_from_checklist_to_finished_run(server):
    with chromium_page() as (page, errors):
        page.goto(server.url)
        page.get_by_text("SFT Coach").first.wait_for()

        # Step 1: the checklist gives a verdict with reasons.
        for key in ("tried_prompting", "needs_format", "specialised_domain", "has_data", "has_compute"):
            page.locator(f"#q-{key}").get_by_text("Yes", exact=True).click()
        verdict = page.locator("#checklist-verdict")
        verdict.get_by_text("Fine-tuning looks worth it.").wait_for()
        shot(page, "01-checklist")

        # Step 2: the word-problems demo shows its raw columns.
        open_tab(page, "2 · Data")
        page.locator("#demo-choice").get_by_text("Word problems", exact=False).click()
        page.locator("#data-preview").get_by_text("Complex_CoT").first.wait_for()
        shot(page, "02-data")

        # Back to the JSON demo for training, then Settings.
        page.locator("#demo-choice").get_by_text("JSON extraction", exact=False).click()
        open_tab(page, "3 · Settings")
        shot(page, "03-settings")

        # Step 4: start; the loss curve gains points while it runs; samples fill in.
        open_tab(page, "4 · Train")
        page.locator("#train-summary").get_by_text(TINY_MODEL_ID).wait_for()
        page.locator("#start-training").click()
        wait_for(lambda: sum(plot_points(page, "loss-plot")) >= 2, what="the first loss points")
        first = sum(plot_points(page, "loss-plot"))
        wait_for(lambda: sum(plot_points(page, "loss-plot")) > first, what="more loss points")
        page.locator("#samples").get_by_text("Step 0").wait_for()
        shot(page, "04-train-running")

        # Stop, then resume from the checkpoint Stop saved, then let it finish.
        page.locator("#stop-training").click()
        wait_for(lambda: run_phase(page) == "Stopped", what="the Stopped badge")
        stopped_at = page.locator("#coach-step").inner_text()
        shot(page, "05-train-stopped")
        page.locator("#resume-training").click()
        wait_for(lambda: run_phase(page) == "Finished", timeout=240, what="the Finished badge")
        steps = re.match(r"(\d+) / (\d+)", page.locator("#coach-step").inner_text())
        assert steps and steps.group(1) == steps.group(2), page.locator("#coach-step").inner_text()
        assert int(stopped_at.split(" / ")[0]) < int(steps.group(1))
        page.locator("#run-result").get_by_text("Reloaded from disk").wait_for()
        shot(page, "06-train-finished")
        assert not [e for e in errors if not any(i in e for i in IGNORED_CONSOLE)], errors


def test_reloading_mid_run_reattaches_to_the_live_curve(server):
    with chromium_page() as (page, errors):
        page.goto(server.url)
        open_tab(page, "3 · Settings")
        page.locator("#max-steps input[type=number]").fill("200")
        page.locator("#max-steps input[type=number]").press("Enter")
        open_tab(page, "4 · Train")
        page.locator("#train-summary").get_by_text("200 steps").wait_for()
        page.locator("#start-training").click()
        wait_for(lambda: sum(plot_points(page, "loss-plot")) >= 3, what="loss points before the reload")
        before = sum(plot_points(page, "loss-plot"))

        page.reload()
        open_tab(page, "4 · Train")
        after = wait_for(lambda: sum(plot_points(page, "loss-plot")), what="the curve after the reload")
        assert after >= before  # the same run, not a new empty chart
        wait_for(lambda: sum(plot_points(page, "loss-plot")) > after, what="the curve to keep growing")
        shot(page, "07-reloaded-mid-run")
        page.locator("#stop-training").click()
        wait_for(lambda: run_phase(page) == "Stopped", what="the run to stop")
        assert not errors, errors


def test_narrow_screen_layout(server):
    with chromium_page(width=390, height=844) as (page, errors):
        page.goto(server.url)
        page.get_by_text("SFT Coach").first.wait_for()
        shot(page, "08-mobile-checklist")
        # On a phone the step tabs fold into a menu: the Next buttons lead through the flow.
        for target in ("data", "settings", "train"):
            page.locator(f"#next-{target}").click()
        page.locator("#start-training").wait_for()
        shot(page, "09-mobile-train")
        assert not errors, errors
