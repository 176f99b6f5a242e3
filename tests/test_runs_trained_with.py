"""The one answer to "which system prompt did this run train with", for Try it to fill in."""

from __future__ import annotations

import json

from core.demo_data import generate_demo
from core.runs.store import RunFolder
from core.runs.trained_with import record_trained_with, trained_system_prompt
from tests.run_folders import make_run

DEMO_PROMPT = generate_demo("json_extraction", n_train=1, n_test=0)["train"][0]["messages"][0]["content"]


def _with_dataset(run_dir, dataset: str) -> RunFolder:
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "dataset": dataset}))
    return RunFolder(run_dir)


def _rows(prompts: list[str | None]) -> list[dict]:
    rows = []
    for number, prompt in enumerate(prompts):
        turns = [{"role": "system", "content": prompt}] if prompt else []
        turns += [{"role": "user", "content": f"q{number}"}, {"role": "assistant", "content": "a"}]
        rows.append({"messages": turns})
    return rows


def test_what_the_run_recorded_when_it_trained_is_the_answer(tmp_path, tiny_model_path):
    run = RunFolder(make_run(tmp_path / "runs", tiny_model_path))
    assert record_trained_with(run, _rows(["Answer in French."] * 3 + [None])) == "Answer in French."
    assert trained_system_prompt(run) == "Answer in French."  # not the demo's, which the config names
    record_trained_with(run, _rows([None, None]))
    assert trained_system_prompt(run) == ""  # rows without a system prompt: nothing to fill in


def test_a_run_that_recorded_nothing_falls_back_to_its_dataset(tmp_path, tiny_model_path):
    runs = tmp_path / "runs"
    demo = RunFolder(make_run(runs, tiny_model_path, run_id="20260101-120000-demo"))  # the JSON demo's config
    assert trained_system_prompt(demo) == DEMO_PROMPT == "Extract the facts from the text as a JSON object."
    words = _with_dataset(make_run(runs, tiny_model_path, run_id="20260101-120001-words"), "word_problems")
    assert trained_system_prompt(words) == ""  # question/answer columns, no system prompt

    folder = tmp_path / "my-data"
    folder.mkdir()
    lines = _rows(["Be terse."] * 2 + ["Be verbose.", None]) + _rows([f"own {n}" for n in range(30)])
    (folder / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in lines[:4]))
    own = _with_dataset(make_run(runs, tiny_model_path, run_id="20260101-120002-own"), str(folder))
    assert trained_system_prompt(own) == "Be terse."  # half the rows share it
    varied = tmp_path / "varied"
    varied.mkdir()
    (varied / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in lines[4:]))
    each = _with_dataset(make_run(runs, tiny_model_path, run_id="20260101-120003-each"), str(varied))
    assert trained_system_prompt(each) == ""  # every row its own prompt: no single one to suggest
    gone = _with_dataset(make_run(runs, tiny_model_path, run_id="20260101-120004-gone"), str(tmp_path / "deleted"))
    assert trained_system_prompt(gone) == ""
