"""Probe sets: prompts from pasted text, demos and runs; a prompt x model table exported to CSV and JSONL."""

from __future__ import annotations

import csv
import json
import threading

import pytest

from core.chat import GenerationSettings
from core.data.prepare import load_demo_rows
from core.models.pool import ModelPool
from core.probe_sets import (
    ProbePrompt,
    default_label,
    prompts_from_demo,
    prompts_from_run,
    prompts_from_text,
    run_probe_set,
)
from tests.run_folders import make_run

SHORT = GenerationSettings(deterministic=True, max_new_tokens=6)


def test_pasted_text_gives_one_prompt_per_line():
    prompts = prompts_from_text("What is 2+2?\n\n   Name a colour.  \n")
    assert [p.text for p in prompts] == ["What is 2+2?", "Name a colour."]
    assert prompts[0].as_messages() == [{"role": "user", "content": "What is 2+2?"}]
    with pytest.raises(ValueError, match="at least one prompt"):
        prompts_from_text(" \n ")
    with pytest.raises(ValueError, match="at most"):
        prompts_from_text("q\n" * 500)


def test_demo_prompts_keep_the_system_message_and_the_reference():
    prompts = prompts_from_demo("json_extraction", limit=3)
    assert len(prompts) == 3
    assert prompts[0].messages[0] == ("system", "Extract the facts from the text as a JSON object.")
    assert json.loads(prompts[0].reference)["type"] in ("person", "product", "event")
    word = prompts_from_demo("word_problems", limit=1)[0]
    assert word.messages[-1][0] == "user" and "The answer is" in word.reference


def test_run_probes_get_back_the_system_prompt_that_probes_json_leaves_out(tmp_path, tiny_model_path):
    run_dir = make_run(tmp_path / "runs", tiny_model_path)
    _, held_out, _ = load_demo_rows("json_extraction")
    probes = [
        {"prompt": row["prompt"][-1]["content"], "reference": row["completion"][0]["content"]} for row in held_out[:2]
    ]  # the demo's rows as trained: conversational prompt-completion
    probes.append({"prompt": "A prompt typed by hand.", "reference": ""})
    (run_dir / "probes.json").write_text(json.dumps({"probes": probes}))
    prompts = prompts_from_run(run_dir)
    assert [p.text for p in prompts] == [p["prompt"] for p in probes]
    assert prompts[0].messages[0][0] == "system" and prompts[0].reference == probes[0]["reference"]
    assert prompts[2].messages == (("user", "A prompt typed by hand."),) and prompts[2].reference is None


def test_a_run_without_probes_says_so(tmp_path):
    with pytest.raises(ValueError, match="no probe prompts"):
        prompts_from_run(tmp_path)


def test_every_model_answers_every_prompt_and_the_table_exports(tmp_path, tiny_model_path):
    run_dir = make_run(tmp_path / "runs", tiny_model_path)
    refs = [str(tiny_model_path), str(run_dir / "final")]
    prompts = prompts_from_text("Hello there\nTell me about the sea.")
    messages: list[str] = []
    results = run_probe_set(ModelPool(), prompts, refs, SHORT, progress=messages.append)
    assert len(results.rows) == 4 and not results.stopped
    table = results.table()
    base_label, tuned_label = default_label(refs[0]), default_label(refs[1])
    assert (base_label, tuned_label) == ("tiny-random-llama", f"{run_dir.name}/final")
    assert [list(row) for row in table] == [["prompt", "reference", base_label, tuned_label]] * 2
    assert all(row[base_label] != row[tuned_label] for row in table)
    assert any("prompt 2 of 2" in m for m in messages)

    with open(results.to_csv(tmp_path / "probes.csv"), newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == table
    lines = results.to_jsonl(tmp_path / "probes.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["label"] for line in lines] == [base_label, base_label, tuned_label, tuned_label]


def test_stop_returns_what_was_answered_so_far(tiny_model_path):
    stop = threading.Event()
    stop.set()
    results = run_probe_set(ModelPool(), [ProbePrompt.from_messages([{"role": "user", "content": "Hi"}])],
                            [str(tiny_model_path)], SHORT, stop_event=stop)  # fmt: skip
    assert results.stopped and results.rows == []
