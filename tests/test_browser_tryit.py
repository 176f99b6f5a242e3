"""Step 5, Try it, in a real browser: chat, side by side, a blind A/B vote and a probe set on a trained run.

A short run of the tiny random model is trained through the app's API first
(seconds), so the pickers offer its LoRA result next to the base model.
Screenshots go to ``test-artifacts/screenshots`` at 1366x768.
"""

from __future__ import annotations

import json

import pytest

from core.models.catalog import TINY_MODEL_ID
from tests.browser import app_errors, chromium_page, open_tab, set_slider, shot, train_demo_run, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def trained(launch_app):
    """The app and one browser that trained a 4-step run of the tiny model in the Train tab.

    Yields (server, page, console errors, run id, run folder). Runs belong to the browser that started them,
    so both tests share this browser.
    """
    app = launch_app(name="tryit")
    with chromium_page() as (page, errors):
        page.goto(app.url)
        run_id = train_demo_run(page)
        page.locator("#next-tryit").click()
        yield app, page, errors, run_id, app.data_dir / "runs" / run_id


def chat_messages(page, role: str) -> list[str]:
    return page.locator(f"#chat-window .message-row.{role}-row").all_inner_texts()


def test_chat_compare_vote_and_probe_a_trained_run(trained):
    _, page, errors, run_id, run_dir = trained
    # the page came here through the "Next: 5 · Try it" button
    page.locator("#tryit-device").get_by_text("Where chat runs").wait_for(timeout=90000)

    # Short answers keep the test quick on a busy CPU (the tiny random model never stops on its own).
    page.locator("#gen-settings").get_by_text("Generation settings").click()
    set_slider(page, "gen-max-new-tokens", 48)
    page.locator("#gen-settings").get_by_text("Generation settings").click()  # folded again, for the screenshots

    # Chat: the newest fine-tuned result is preselected; a streamed answer appears under the question.
    picked = page.locator("#chat-model input").input_value()
    assert picked.startswith("json-extraction · tiny-random-llama · ") and "final, step 4" in picked, picked
    page.locator("#chat-message textarea").fill("Ada Lovelace, 36, lives in London.")
    page.locator("#chat-send").click()
    wait_for(lambda: len(chat_messages(page, "bot")) == 1, what="the assistant's bubble")
    wait_for(
        lambda: "Loading" not in chat_messages(page, "bot")[0] and chat_messages(page, "bot")[0].strip(),
        timeout=180,
        what="a streamed answer",
    )
    assert "Ada Lovelace" in chat_messages(page, "user")[0]
    shot(page, "tryit-01-chat")

    # Side by side: base vs fine-tuned, both columns fill.
    open_tab(page, "Side by side")
    assert page.locator("#sbs-model-a input").input_value() == "Base model: tiny-random-llama"
    assert "final, step" in page.locator("#sbs-model-b input").input_value()
    page.locator("#sbs-prompt textarea").fill("Grace Hopper, 85, lives in Arlington.")
    page.locator("#sbs-compare").click()
    page.locator("#sbs-answer-b").get_by_text("new tokens").wait_for(timeout=180000)
    assert "at most 48 new tokens" in page.locator("#sbs-answer-b").inner_text()
    for side in ("a", "b"):
        assert "no answer yet" not in page.locator(f"#sbs-answer-{side}").inner_text()
    shot(page, "tryit-02-side-by-side")

    # Blind A/B: answers as A and B, vote, reveal, the tally counts one round and the vote is on disk.
    open_tab(page, "Blind A/B")
    page.locator("#ab-prompt textarea").fill("Alan Turing, 41, lives in Wilmslow.")
    page.locator("#ab-new-round").click()
    vote = page.locator("#ab-vote-a")
    wait_for(lambda: vote.is_enabled(), timeout=180000, what="the vote buttons")
    shot(page, "tryit-03-blind-round")
    vote.click()
    page.locator("#ab-reveal").get_by_text("Your vote: A is better.").wait_for()
    page.locator("#ab-tally").get_by_text("1 blind round(s)").wait_for()
    assert not page.locator("#ab-vote-b").is_enabled()  # one vote per round
    votes = [json.loads(line) for line in (run_dir / "votes.jsonl").read_text().splitlines()]
    assert len(votes) == 1 and votes[0]["vote"] == "A"
    assert {votes[0]["model_a"], votes[0]["model_b"]} == {TINY_MODEL_ID, str(run_dir / "final")}
    shot(page, "tryit-04-blind-reveal")

    # Probe set: the run's probe prompts across base and fine-tuned fill a table, downloadable.
    open_tab(page, "Probe set")
    page.locator("#probe-run").click()
    page.locator("#probe-note").get_by_text("model(s), greedy").wait_for(timeout=240000)
    header = page.locator("#probe-table thead th").all_inner_texts()
    assert header == ["prompt", "reference", TINY_MODEL_ID, f"{run_id}/final"], header
    assert page.locator("#probe-table tbody tr").count() == 3  # the run followed 3 held-out prompts
    answers = page.locator("#probe-table tbody td:nth-child(4)").all_inner_texts()
    assert all(a.strip() for a in answers), answers  # an answer, or "(blank answer)", never an empty cell
    assert sorted(page.locator("#probe-files .ext").all_inner_texts()) == [".csv", ".jsonl"]
    shot(page, "tryit-05-probe-set")

    # Quick scores: before vs after on 5 held-out rows of the JSON demo.
    open_tab(page, "Quick scores")
    set_slider(page, "score-rows", 5)
    page.locator("#score-run-button").click()
    page.locator("#score-result").get_by_text("Valid JSON:").wait_for(timeout=240000)
    assert "first 5 held-out rows" in page.locator("#score-result").inner_text()
    assert (run_dir / "evaluation.json").is_file()
    shot(page, "tryit-07-quick-scores")
    assert not app_errors(errors), errors


def test_bad_input_gets_a_message_and_sharing_works_offline(trained):
    _, page, errors, _, run_dir = trained
    open_tab(page, "Chat")
    # A Hub id can't load offline: a warning says why, and the typed message goes back into the box.
    picker = page.locator("#chat-model input")
    picker.fill("someone/not-a-real-model")
    picker.press("Enter")
    page.locator("#chat-message textarea").fill("Hello?")
    page.locator("#chat-send").click()
    page.get_by_text("someone/not-a-real-model").last.wait_for()
    wait_for(lambda: page.locator("#chat-message textarea").input_value() == "Hello?", what="the message back")
    # Merging works offline; pushing explains why it can't.
    open_tab(page, "Share")
    page.locator("#share-merge").click()
    page.locator("#share-merge-note").get_by_text("Saved the merged model").wait_for(timeout=120000)
    assert (run_dir / "merged" / "config.json").is_file()
    page.locator("#share-hub-note").get_by_text("runs offline").wait_for()
    page.locator("#share-token input").fill("hf_NotARealTokenJustForThisTest")
    page.locator("#share-push").click()
    page.locator("#share-push-note").get_by_text("Can't push from here").wait_for()
    # The token does not stay in the page after the answer.
    wait_for(lambda: page.locator("#share-token input").input_value() == "", what="the token box to be emptied")
    shot(page, "tryit-06-errors")
    assert not app_errors(errors), errors


def test_stop_generating_reaches_the_server_and_ends_the_answer(trained):
    """Stop is an event off the queue (it must not wait behind the answer it stops): the page posts it directly."""
    _, page, errors, _, _ = trained
    open_tab(page, "Chat")
    picker = page.locator("#chat-model input")  # the test before left a Hub id that can't load offline
    picker.click()
    page.get_by_role("option", name="Base model: tiny-random-llama").click()
    wait_for(lambda: picker.input_value() == "Base model: tiny-random-llama", what="the base model picked")
    page.locator("#gen-settings").get_by_text("Generation settings").click()
    set_slider(page, "gen-max-new-tokens", 1024)  # far longer than the Stop takes to arrive
    page.locator("#gen-settings").get_by_text("Generation settings").click()
    page.locator("#chat-message textarea").fill("Tell me a very long story.")
    before = len(chat_messages(page, "bot"))
    page.locator("#chat-send").click()
    wait_for(
        lambda: len(chat_messages(page, "bot")) > before and len(chat_messages(page, "bot")[-1].strip()) > 20,
        timeout=180,
        what="the start of a streamed answer",
    )
    with page.expect_response(lambda response: "/gradio_api/run/predict" in response.url) as stopped:
        page.locator("#chat-stop").click()
    assert stopped.value.status == 200, stopped.value.text()
    lengths = []

    def settled() -> bool:
        lengths.append(len(chat_messages(page, "bot")[-1]))
        return len(lengths) > 3 and len(set(lengths[-3:])) == 1

    wait_for(settled, timeout=15, interval=0.5, what="the answer to stop growing")
    assert not app_errors(errors), errors
