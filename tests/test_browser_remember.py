"""A reload keeps the page where the person left it, and a phone reaches every step (Debian's Chromium).

The app runs on loopback with the tiny random model preselected, so a run takes seconds. Screenshots go to
``test-artifacts/screenshots``: look at them.
"""

from __future__ import annotations

import pytest

from core.config import RunConfig
from tests.browser import answer_checklist, app_errors, chromium_page, reload_page, run_phase, shot, wait_for

pytestmark = pytest.mark.browser
STEP_TABS = ("1 · Should I fine-tune?", "2 · Data", "3 · Settings", "4 · Train", "5 · Try it")
# Elements of the shown step wider than the window (a phone must never scroll sideways).
TOO_WIDE_JS = """() => { const vw = document.documentElement.clientWidth;
  const panel = [...document.querySelectorAll('#steps > [role=tabpanel]')].find(p => p.offsetParent !== null);
  return [...panel.querySelectorAll('*')].filter(e => { const r = e.getBoundingClientRect();
    return r.width > 0 && e.offsetParent !== null && (r.right > vw + 1 || r.left < -1); })
    .slice(0, 10).map(e => `${e.tagName}#${e.id}.${String(e.className).slice(0, 30)}`); }"""
IN_VIEW_JS = """(id) => { const r = document.getElementById(id).getBoundingClientRect();
  return r.top >= 0 && r.top < window.innerHeight; }"""


def test_at_phone_width_every_step_has_a_labelled_tab_and_the_train_step_fits(server):
    with chromium_page(width=390, height=844) as (page, errors):
        page.goto(server.url)
        page.get_by_text("SFT Coach").first.wait_for()
        assert page.get_by_role("button", name="More tabs").count() == 0  # no unlabelled "•••" menu
        for name in STEP_TABS:
            tab = page.get_by_role("tab", name=name)
            box = tab.bounding_box()
            assert tab.is_visible() and box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
            tab.click()
            wait_for(lambda t=tab: t.get_attribute("aria-selected") == "true", what=f"the {name} tab to open")
        page.get_by_role("tab", name="4 · Train").click()
        page.locator("#start-training").wait_for()
        shot(page, "10-phone-steps", "#steps")
        # Charts are drawn at plotly's default width first, then fitted to their box: wait for that.
        too_wide = []
        wait_for(lambda: not too_wide.append(page.evaluate(TOO_WIDE_JS)) and too_wide[-1] == [], timeout=20)
        assert page.evaluate("document.documentElement.scrollWidth") <= 391
        assert not app_errors(errors), errors


def test_a_reload_keeps_the_checklist_the_dataset_the_step_and_the_run(server):
    with chromium_page(width=390, height=844) as (page, errors):
        page.goto(server.url)
        answers = {"tried_prompting": "Yes", "needs_format": "Yes", "specialised_domain": "Not sure"}
        answer_checklist(page, answers)
        page.locator("#next-data").click()
        use = page.locator("#use-dataset")
        wait_for(use.is_enabled, what="Use this dataset to be enabled")
        use.click()
        in_use = page.locator("#data-in-use")
        page.locator("#use-message").get_by_text("Wrote", exact=False).wait_for()
        folder = wait_for(lambda: RunConfig().dataset not in in_use.inner_text() and in_use.inner_text())
        page.locator("#next-settings").click()
        page.locator("#next-train").click()
        page.locator("#start-training").click()
        wait_for(lambda: page.evaluate(IN_VIEW_JS, "run-status"), what="the status card in view after Start")
        shot(page, "11-phone-after-start")
        wait_for(lambda: not page.locator("#start-training").is_enabled(), what="Start to be off during the run")

        reload_page(page, errors)
        page.locator("#train-summary").get_by_text("/datasets/", exact=False).wait_for()  # the dataset in use
        assert page.get_by_role("tab", name="4 · Train").get_attribute("aria-selected") == "true"
        assert "json_extraction" not in page.locator("#train-summary").inner_text()
        if run_phase(page) not in ("Finished", "Stopped"):
            assert not page.locator("#start-training").is_enabled()
        shot(page, "12-phone-after-reload")
        page.get_by_role("tab", name="1 · Should I fine-tune?").click()
        for key, answer in answers.items():
            assert page.locator(f"#q-{key}").get_by_label(answer, exact=True).is_checked(), key
        assert "Not sure yet:" in page.locator("#checklist-verdict").inner_text()
        wait_for(lambda: run_phase(page) == "Finished", timeout=240, what="the run to finish")
        wait_for(page.locator("#start-training").is_enabled, what="Start to be on again once the run ended")
        assert not app_errors(errors), errors
        assert folder

    with chromium_page(width=1366, height=768) as (stranger, _):  # another browser: another session cookie
        stranger.goto(server.url)
        stranger.locator("#q-tried_prompting").wait_for()
        assert stranger.get_by_role("tab", name="1 · Should I fine-tune?").get_attribute("aria-selected") == "true"
        assert not stranger.locator("#q-tried_prompting").get_by_label("Yes", exact=True).is_checked()
        stranger.get_by_role("tab", name="4 · Train").click()
        stranger.locator("#train-summary").get_by_text("json_extraction").wait_for()
        assert stranger.locator("#start-training").is_enabled()  # the first person's run is not theirs
        stranger.get_by_role("tab", name="2 · Data").click()
        assert "/datasets/" not in stranger.locator("#data-in-use").inner_text()
