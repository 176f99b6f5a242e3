"""Try it's handlers: the system prompt a run trained with comes with its model, only for the run's owner."""

from __future__ import annotations

import html
import json

import gradio as gr
import pytest
from transformers import AutoTokenizer

from core.runs.manager import RunManager
from core.runs.store import RunFolder
from core.runs.trained_with import record_trained_with
from tests.run_folders import make_checkpoint, make_run
from ui.tryit import TryItEvents
from ui.tryit_context import TryItContext, prompt_edited, restore_prompt
from ui.tryit_views import default_chat_ref

DEMO_PROMPT = "Extract the facts from the text as a JSON object."


def _own(run_dir, owner: str, **state) -> str:
    old = json.loads((run_dir / "state.json").read_text())
    (run_dir / "state.json").write_text(json.dumps({**old, "owner": owner, "created_at": 1_773_497_100, **state}))
    return str(run_dir / "final")


def _refresh(events: TryItEvents, request, chat=None, prompt="", shown_for=None) -> dict:
    out = events.refresh_lists(chat, None, None, None, None, None, None, None, None, prompt, shown_for, request)
    chat_update, *_, prompt, note, restore, trained = out
    return {"chat": chat_update, "prompt": prompt, "note": note, "restore": restore, "trained": trained}


def _setup(tmp_path, tiny_model_path):
    runs = tmp_path / "runs"
    ann = _own(make_run(runs, tiny_model_path, run_id="20260314-140500-ann00001"), "ann")  # the JSON demo
    bob_dir = make_run(runs, tiny_model_path, run_id="20260314-140600-bob00001")
    record_trained_with(RunFolder(bob_dir), [{"messages": [{"role": "system", "content": "BOB-SECRET prompt"}]}])
    bob = _own(bob_dir, "bob")
    return TryItEvents(TryItContext(RunManager(runs))), ann, bob


def test_chat_opens_on_the_run_with_the_system_prompt_it_trained_with(tmp_path, tiny_model_path, request_as):
    events, ann_final, _ = _setup(tmp_path, tiny_model_path)
    ann = request_as("ann")
    shown = _refresh(events, ann)
    assert shown["chat"].value == ann_final and shown["prompt"] == DEMO_PROMPT
    assert "The system prompt run <b>json-extraction · tiny-random-llama · " in shown["note"]
    assert shown["restore"].visible is False
    label = dict((value, label) for label, value in shown["chat"].choices)[ann_final]
    assert label.startswith("json-extraction · tiny-random-llama · ") and "final, step 4" in label  # no run id
    assert "20260314" not in label

    # Cleared by the person: a note says what the run was trained with, and a button puts it back.
    note, restore, trained = prompt_edited("", shown["trained"])
    assert "This run was trained with the system prompt “Extract the facts from the text as a JSON object.”" in note
    assert "answers without it may not follow the format" in note and restore.visible is True
    assert "answers with another one" in prompt_edited("Be brief.", trained)[0]
    assert restore_prompt(trained)[0] == DEMO_PROMPT
    # A refresh (the tab opened again) keeps what the person cleared: the same run was shown already.
    assert _refresh(events, ann, chat=ann_final, prompt="", shown_for=trained)["prompt"] == ""


def test_comparisons_give_the_base_model_the_runs_prompt_too(tmp_path, tiny_model_path, request_as):
    events, ann_final, _ = _setup(tmp_path, tiny_model_path)
    ann = request_as("ann")
    prompt, note, _, trained = events.follow_pair("", None, str(tiny_model_path), ann_final, ann)
    assert prompt == DEMO_PROMPT and "both models get it, the base model too" in note
    base_only = events.follow_one("my own", trained, str(tiny_model_path), ann)
    assert base_only[0] == gr.skip() and base_only[1] == "" and base_only[3] is None  # a base model: box untouched


def test_a_forged_run_of_someone_else_reveals_nothing_of_its_prompt(tmp_path, tiny_model_path, request_as):
    events, ann_final, bob_final = _setup(tmp_path, tiny_model_path)
    ann = request_as("ann")  # the attacker, who read bob's result path somewhere
    for follow in (
        events.follow_one("", None, bob_final, ann),
        events.follow_pair("", None, ann_final, bob_final, ann),
    ):
        assert "BOB-SECRET" not in json.dumps([follow[0], follow[1], str(follow[3])])
    forged = _refresh(events, ann, chat=bob_final)
    assert "BOB-SECRET" not in json.dumps(
        [shown for shown in (forged["prompt"], forged["note"], str(forged["trained"]))]
    )
    assert bob_final not in [value for _, value in forged["chat"].choices]
    # bob himself gets his own run's prompt
    assert events.follow_one("", None, bob_final, request_as("bob"))[0] == "BOB-SECRET prompt"


def test_a_run_still_training_is_labelled_by_its_steps_and_never_preselected(tmp_path, tiny_model_path, request_as):
    runs = tmp_path / "runs"
    run_dir = make_run(runs, tiny_model_path, run_id="20260314-140500-ann00001")
    make_checkpoint(run_dir, 6)
    # Stopped at step 6 with a result, then resumed: it trains again towards step 16, now at step 9.
    resumed = str(run_dir / "checkpoints" / "checkpoint-6")
    _own(run_dir, "ann")
    events = TryItEvents(TryItContext(RunManager(runs)))
    # What the worker writes while it trains (a manager starting up would mark a run on disk interrupted).
    final = _own(run_dir, "ann", phase="training", step=9, total_steps=16, resume_from=resumed)
    shown = _refresh(events, request_as("ann"))
    labels = dict((value, label) for label, value in shown["chat"].choices)
    assert labels[final].endswith("earlier result, step 6 (training still running)")
    assert labels[resumed].endswith("checkpoint, step 6 (training still running)")
    assert shown["chat"].value not in (final, resumed)  # Chat opens on a base model, not a run mid-training
    assert default_chat_ref(events.ctx.refs_for("ann")) == shown["chat"].value


@pytest.mark.slow
def test_the_json_demo_run_answers_a_held_out_prompt_in_json_in_chat(tmp_path, offline_model_path, request_as):
    """The trap of the issue: a short run on the JSON demo, then Chat as it opens, with no setting touched.

    Chat's picker and system prompt come from the refresh; the answer to a held-out demo prompt must parse as the
    expected JSON. 12 steps of the Quick demo on SmolLM2-135M, as in tests/test_runs_train.py's slow test.
    """
    from core.config import RunConfig
    from core.demo_data import generate_demo
    from core.models.catalog import OFFLINE_MODEL_ID

    manager = RunManager(tmp_path / "runs")
    config = RunConfig(model_id=OFFLINE_MODEL_ID, max_steps=12, sample_every=0, num_probe_prompts=1)
    job = manager.start(config, owner="ann")
    assert manager.wait(job.run_id, timeout=900).phase == "finished"
    events = TryItEvents(TryItContext(manager))
    ann = request_as("ann")
    shown = _refresh(events, ann)
    assert shown["chat"].value.endswith("final") and shown["prompt"] == DEMO_PROMPT

    held_out = generate_demo("json_extraction")["test"][-1]["messages"]  # never a probe, never trained on
    question, expected = held_out[1]["content"], json.loads(held_out[2]["content"])
    # The settings as the page opens them (ui/tryit.py), greedy so the answer does not depend on a seed.
    settings = [shown["prompt"], 0.6, 0.95, 256, 1.0, 42, True, "default"]
    *_, (_, history, _, _) = events.chat_event(question, [], shown["chat"].value, *settings, request=ann)
    answer = json.loads(history[-1]["content"])
    assert answer.keys() == expected.keys(), (answer, expected)


def test_stop_in_chat_ends_the_streamed_answer_and_keeps_it(tmp_path, tiny_model_path, request_as):
    events, ann_final, _ = _setup(tmp_path, tiny_model_path)
    ann = request_as("ann")
    settings = ["", 0.6, 0.95, 400, 1.0, 42, True, "default"]  # greedy, 400 tokens: the random model never stops
    frames = events.chat_event("Tell me about the sea.", [], ann_final, *settings, request=ann)
    assert "Loading the model" in next(frames)[0][-1]["content"]
    first_words = next(frames)[0][-1]["content"]
    events.ctx.stops.handler("chat")(ann)  # ann presses Stop
    *_, (shown, history, box, _) = frames
    answer = history[-1]["content"]
    assert history[-2]["content"] == "Tell me about the sea." and box == ""
    assert shown[-1]["content"] == html.escape(answer) and html.escape(answer).startswith(first_words)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    assert len(tokenizer(answer, add_special_tokens=False)["input_ids"]) < 100  # stopped, far before 400 tokens
