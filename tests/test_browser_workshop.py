"""Workshop mode in a real browser: an instructor and three participants, each their own browser context.

The instructor commits the built-in demo, shares it and their settings (the steps locked) and a probe set;
two participants start from them in one click and train the tiny model for two steps (side by side: the
second waits in line), submit their runs, a third person votes in the blind arena, and the leaderboard rates
the two models. Screenshots go to ``test-artifacts/screenshots``.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import app_errors, chromium_people, open_tab, run_phase, shot, wait_for
from tests.page_client import PageClient

pytestmark = pytest.mark.browser
PASSWORD = "workshop password"
STEPS = 2


def commit_demo_and_two_steps(page) -> None:
    """The instructor's own page: the built-in demo committed in 2 · Data, two steps in 3 · Settings."""
    open_tab(page, "2 · Data")
    use = page.locator("#use-dataset")
    wait_for(use.is_enabled, timeout=180, what="Use this dataset to be enabled")
    use.click()
    page.locator("#use-message").get_by_text("Wrote", exact=False).wait_for(timeout=60_000)
    open_tab(page, "3 · Settings")
    box = page.locator("#max-steps input[type=number]")
    box.fill(str(STEPS))
    box.press("Enter")
    open_tab(page, "4 · Train")
    page.locator("#train-summary").get_by_text(f"{STEPS} steps").wait_for()  # kept on the server by now


def share_with_the_class(page) -> None:
    open_tab(page, "Admin")
    page.locator("#admin-password input").fill(PASSWORD)
    page.locator("#admin-open").click()
    page.locator("#admin-message").get_by_text("Admin view open").wait_for(timeout=30_000)
    page.locator("#class-admin").get_by_text("Class: share a starting point").click()
    page.locator("#class-dataset-name textarea").fill("Class JSON")
    page.locator("#class-publish-dataset").click()
    message = page.locator("#class-admin-message")
    message.get_by_text("Shared the dataset 'Class JSON'").wait_for(timeout=30_000)
    page.locator("#class-locked").get_by_text("Training steps", exact=True).click()
    page.locator("#class-publish-preset").click()
    message.get_by_text("locked: Training steps").wait_for(timeout=30_000)
    page.locator("#class-probe-rows input").fill("2")
    page.locator("#class-publish-probes").click()
    message.get_by_text("Shared a probe set of 2 prompts").wait_for(timeout=60_000)
    shot(page, "workshop-01-instructor-shares", "#class-admin")


def start_from_the_instructor(page, screenshot: str | None = None) -> None:
    """A participant: the shared dataset and preset in one click each, then Start."""
    open_tab(page, "2 · Data")
    page.locator("#class-dataset-info").get_by_text("From your instructor: a dataset").wait_for(timeout=60_000)
    page.locator("#class-dataset-use").click()
    page.locator("#class-dataset-message").get_by_text("You start from your instructor's dataset").wait_for()
    open_tab(page, "3 · Settings")
    assert "Locked for the class" in page.locator("#class-preset-info").inner_text()
    page.locator("#class-preset-use").click()
    page.locator("#class-preset-message").get_by_text("You start from your instructor's preset").wait_for()
    assert page.locator("#max-steps input[type=number]").is_disabled()  # locked: the page can't change it
    if screenshot:
        shot(page, screenshot, "#class-preset")
    open_tab(page, "4 · Train")
    page.locator("#train-summary").get_by_text(f"{STEPS} steps").wait_for()
    page.locator("#start-training").click()


def phase_now(page) -> str:
    """The Train step's badge, or "" while the status card is being redrawn (slow on a busy machine)."""
    try:
        return run_phase(page)
    except Exception:  # noqa: BLE001 - Playwright's timeout while the card is replaced
        return ""


def submit_the_run(page) -> str:
    wait_for(lambda: phase_now(page) == "Finished", timeout=300, what="the run to finish")
    run_id = page.locator("#run-status .coach-run-id").inner_text().removeprefix("run ").strip()
    open_tab(page, "Class")
    wait_for(lambda: run_id in page.locator("#class-submit-run input").input_value(), what="the run in the picker")
    page.locator("#class-submit").click()
    page.locator("#class-submit-message").get_by_text("Submitted as Model").wait_for(timeout=30_000)
    return run_id


@pytest.fixture(scope="module")
def workshop(launch_app):
    return launch_app({"SFT_COACH_ADMIN_PASSWORD": PASSWORD}, name="workshop")


def test_an_instructor_shares_two_participants_train_and_submit_a_third_votes(workshop):
    with chromium_people(4) as people:
        (teacher, teacher_errors), (ann, _), (bob, _), (cat, cat_errors) = people
        teacher.goto(workshop.url)
        ann.goto(workshop.url)  # open before anything is shared: she finds the shares on opening Data, no reload
        ann.locator("#steps").wait_for()
        commit_demo_and_two_steps(teacher)
        share_with_the_class(teacher)

        for page in (bob, cat):
            page.goto(workshop.url)
        start_from_the_instructor(ann, "workshop-02-participant-settings")
        start_from_the_instructor(bob)  # waits in line behind ann's run
        runs = [submit_the_run(ann), submit_the_run(bob)]

        # cat trained nothing: the arena opens once both models answered the probe set (between trainings)
        open_tab(cat, "Class")

        def answered() -> bool:
            cat.locator("#class-refresh").click()
            return "2 models answered" in cat.locator("#class-status").inner_text()

        wait_for(answered, timeout=180, interval=3, what="both models to answer the probe set")
        for choice in ("#class-vote-a", "#class-vote-b"):  # one pair, two prompts: two votes
            if not cat.locator(choice).is_enabled():
                cat.locator("#class-next-pair").click()
            wait_for(cat.locator(choice).is_enabled, what="the vote buttons")
            assert cat.locator("#class-arena-left textarea").input_value().strip()
            assert "Prompt" in cat.locator("#class-arena-prompt").inner_text()
            if choice == "#class-vote-a":
                shot(cat, "workshop-03-arena", "#class-arena-prompt")
            cat.locator(choice).click()
            cat.locator("#class-arena-message").get_by_text("Vote kept").wait_for(timeout=30_000)
        cat.locator("#class-arena-prompt").get_by_text("voted on every pair").wait_for(timeout=30_000)
        assert not any(run_id in cat.content() for run_id in runs)  # which run answered never reaches the page

        codenames = re.compile(r"Model [0-9A-F]{4}")
        wait_for(lambda: len(codenames.findall(cat.locator("#class-leaderboard").inner_text())) == 2, what="two rows")
        board = cat.locator("#class-leaderboard").inner_text()
        assert "Model " in board and "(yours)" not in board and "±" in board
        shot(cat, "workshop-04-leaderboard", "#class-leaderboard")

        # ann's own model never comes up for her: only bob's is another person's, so there is no pair for her
        ann.locator("#class-next-pair").click()
        ann.locator("#class-arena-prompt").get_by_text("two models of other people").wait_for(timeout=30_000)
        ann.locator("#class-refresh").click()
        wait_for(lambda: "(yours)" in ann.locator("#class-leaderboard").inner_text(), what="ann's model marked")

        teacher.locator("#class-admin-refresh").click()
        teacher.locator("#class-export").wait_for(state="visible", timeout=30_000)
        teacher.locator("#class-admin-status").get_by_text("2 models submitted", exact=False).wait_for(timeout=30_000)
        shot(teacher, "workshop-05-instructor-export", "#class-admin")
        assert app_errors(teacher_errors) == [] and app_errors(cat_errors) == []
    workshop.runs = runs  # for the attack test below, which reuses this class


def test_a_participant_can_not_publish_submit_anothers_run_or_break_a_lock(workshop):
    """As a second client that lies: publish without the password, submit the class's runs, Start past a lock."""
    runs = getattr(workshop, "runs", None)
    if runs is None:
        pytest.skip("needs the class the browser test above builds")
    stranger = PageClient(workshop.url).open()
    try:
        for name, values in (
            ("publish_dataset", {"class-dataset-name": "mine"}),
            ("publish_preset", {"class-locked": ["learning_rate"]}),
            ("publish_probes", {"class-probe-text": "leak the runs"}),
            ("withdraw", {"class-withdraw-what": "dataset"}),
        ):
            refused = stranger.call_named(name, values)
            assert "Only the instructor" in refused.raw, (name, refused.raw[-300:])
        for forged in (*runs, str(workshop.data_dir / "runs" / runs[0]), f"../{runs[1]}"):
            result = stranger.call_named("submit", {"class-submit-run": forged})
            assert "of yours to submit" in result.raw and "Submitted as" not in result.raw
        shown = stranger.call_named("status", {})
        assert "Only the instructor" in shown.raw and runs[0] not in shown.raw  # no export for a participant
        start = stranger.call_named("start_run", {"max-steps": 50})
        assert "locked by your instructor" in start.raw  # the page's value is input: Start checks the lock
    finally:
        stranger.close()
    entries = (workshop.data_dir / "workshop" / "class" / "entries.json").read_text()
    assert entries.count('"run_id"') == 2
