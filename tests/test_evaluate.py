"""Before vs after: demo scores on hand-made answers, the loss masked like the trainer's, a real run improves."""

from __future__ import annotations

import json

import pytest

from core.evaluate import (
    BeforeAfter,
    EvaluationError,
    evaluate_run,
    load_evaluation,
    loss_labels,
    quick_scores,
    score_answers,
    to_loss_example,
    validation_loss,
)
from core.models.catalog import load_trained_model
from core.models.pool import ModelPool
from tests.run_folders import make_run

JSON_REFERENCES = ['{"type": "person", "name": "Ada", "age": 36, "city": "London"}'] * 4
WORD_REFERENCES = [
    "<think>\n6 * 7 = 42\n</think>\nThe answer is 42.",
    "<think>\n10 - 3 = 7\n</think>\nThe answer is 7.",
]


def test_json_scores_on_hand_made_answers():
    answers = [
        '{"type": "person", "name": "Ada", "age": 36, "city": "London"}',  # perfect
        'Sure! ```json\n{"type": "person", "name": "ada", "age": 36, "city": "Paris"}\n```',  # 3 of 4 fields
        '{"type": "person", "name": "Ada", "age": "36"',  # cut off: not valid JSON
        "I cannot help with that.",
    ]
    scores = score_answers("json_extraction", answers, JSON_REFERENCES)
    assert scores == {"n": 4, "valid_json_rate": 0.5, "exact_match_rate": 0.25, "field_accuracy": (1 + 0.75) / 4}


def test_word_problem_scores_on_hand_made_answers():
    answers = ["<think>\n6 * 7 = 42\n</think>\nThe answer is 42.", "<think>\nThe answer is 7\n</think>\nIt is 8."]
    assert score_answers("word_problems", answers, WORD_REFERENCES) == {"n": 2, "answer_accuracy": 0.5}
    with pytest.raises(EvaluationError, match="no scorer"):
        score_answers("poetry", [], [])


def test_before_after_sentences_know_which_direction_is_better():
    scores = BeforeAfter(
        "task_scores", "json_extraction", 10, "b", "t", {"valid_json_rate": 0.1}, {"valid_json_rate": 0.9}
    )
    assert scores.lines() == ["Valid JSON: 10% before, 90% after (better)."]
    loss = BeforeAfter("validation_loss", "mine", 5, "b", "t", {"loss": 2.0, "tokens": 9}, {"loss": 2.5, "tokens": 9})
    assert loss.lines() == ["Validation loss (answer tokens): 2.000 before, 2.500 after (worse)."]


def test_rows_become_the_trainers_examples():
    chat = {
        "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "Q"},
            {"role": "assistant", "content": "A"},
        ]
    }
    assert to_loss_example(chat) == {"prompt": chat["messages"][:2], "completion": chat["messages"][2:]}
    assert to_loss_example({"messages": [{"role": "user", "content": "Q"}]}) is None
    assert to_loss_example({"text": "The sky is blue."}) == {"text": "The sky is blue."}
    assert to_loss_example({"prompt": "The sky is", "completion": " blue."})["completion"] == " blue."
    assert to_loss_example({"question": "?"}) is None


def test_loss_masks_match_trls_own_tokenization(tiny_model_path, tmp_path):
    """Labels built here equal the labels SFTTrainer prepares for the same examples (TRL 1.16)."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from core.data.prepare import load_demo_rows

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    word_row = load_demo_rows("word_problems")[1][0]
    json_row = to_loss_example(load_demo_rows("json_extraction")[1][0])
    examples = [word_row, json_row]
    args = SFTConfig(output_dir=str(tmp_path), max_length=64, report_to=[], use_cpu=True, bf16=False, max_steps=1)
    trainer = SFTTrainer(model=str(tiny_model_path), args=args, train_dataset=Dataset.from_list(examples),
                         processing_class=tokenizer)  # fmt: skip
    prepared = trainer.train_dataset
    for index, example in enumerate(examples):
        ids, labels = loss_labels(tokenizer, example, max_length=64)
        assert ids == prepared[index]["input_ids"] and labels == prepared[index]["labels"]
        assert labels[0] == -100 and labels[-1] != -100  # the prompt is masked, the answer carries loss
    text_ids, text_labels = loss_labels(tokenizer, {"text": "The sky is blue."})
    assert text_ids == text_labels and text_ids[-1] == tokenizer.eos_token_id


def test_validation_loss_is_the_mean_over_answer_tokens_with_padding_ignored(tiny_model_path):
    import torch

    model, tokenizer = load_trained_model(tiny_model_path)
    rows = [
        {"prompt": [{"role": "user", "content": "Hi"}], "completion": [{"role": "assistant", "content": "Hello!"}]},
        {"messages": [{"role": "user", "content": "Count to five"}, {"role": "assistant", "content": "1 2 3 4 5"}]},
        {"messages": [{"role": "user", "content": "No answer here"}]},
    ]
    report = validation_loss(model, tokenizer, rows, batch_size=2)
    total = tokens = 0
    for row in rows[:2]:  # one at a time, no padding, with transformers' own loss
        ids, labels = loss_labels(tokenizer, to_loss_example(row))
        with torch.no_grad():
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss.item()
        scored = sum(label != -100 for label in labels[1:])
        total, tokens = total + loss * scored, tokens + scored
    assert report.rows == 2 and report.skipped == 1 and report.tokens == tokens
    assert report.loss == pytest.approx(total / tokens, rel=1e-5)
    assert report.perplexity == pytest.approx(torch.tensor(report.loss).exp().item(), rel=1e-5)


def test_a_demo_run_is_scored_before_and_after_and_saved(tmp_path, tiny_model_path):
    run_dir = make_run(tmp_path / "runs", tiny_model_path)
    result = evaluate_run(ModelPool(), run_dir, n=2)
    assert result.kind == "task_scores" and result.n == 2
    assert set(result.before) == {"n", "valid_json_rate", "exact_match_rate", "field_accuracy"}
    assert len(result.examples) == 2 and result.examples[0]["reference"].startswith("{")
    assert load_evaluation(run_dir) == result


def test_a_run_on_your_own_data_compares_validation_loss(tmp_path, tiny_model_path):
    data = tmp_path / "mine.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": f"Say {i}"}, {"role": "assistant", "content": f"{i}!"}]}
        for i in range(40)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_dir = make_run(tmp_path / "runs", tiny_model_path)
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "dataset": str(data)}))
    result = evaluate_run(ModelPool(), run_dir)
    assert result.kind == "validation_loss" and result.n == 2  # 5% of 40 rows are held out
    assert result.before["loss"] != result.after["loss"]
    assert result.lines()[0].startswith("Validation loss (answer tokens):")
    with pytest.raises(EvaluationError, match="built-in demos"):
        quick_scores(ModelPool(), "a", "b", str(data))


def test_a_run_without_a_result_cannot_be_scored(tmp_path, tiny_model_path):
    run_dir = make_run(tmp_path / "runs", tiny_model_path)
    state = json.loads((run_dir / "state.json").read_text())
    (run_dir / "state.json").write_text(json.dumps({**state, "result_dir": None}))
    with pytest.raises(EvaluationError, match="no trained model yet"):
        evaluate_run(ModelPool(), run_dir)


@pytest.mark.slow
def test_the_quick_demo_run_on_json_extraction_makes_valid_json_more_common(tmp_path, offline_model_path, capsys):
    """Train the offline SmolLM2 for 30 steps (the Quick demo, shorter) and score 10 held-out rows before and after."""
    from core.config import RunConfig
    from core.models.catalog import OFFLINE_MODEL_ID
    from core.runs.manager import RunManager

    manager = RunManager(tmp_path / "runs")
    job = manager.start(RunConfig(model_id=OFFLINE_MODEL_ID, max_steps=30, sample_every=0), owner="tester")
    snap = manager.wait(job.run_id, timeout=3600)
    assert snap.phase == "finished", snap.error_detail
    result = evaluate_run(ModelPool(), job.run_dir, n=10)
    with capsys.disabled():
        print("\nQuick demo, json_extraction, 10 held-out rows:", *result.lines(), sep="\n  ")
    assert result.after["valid_json_rate"] > result.before["valid_json_rate"]
    assert result.after["field_accuracy"] > result.before["field_accuracy"]


def test_a_run_on_the_committed_demo_gets_the_demos_task_scores(tmp_path, tiny_model_path):
    """The task scores follow the rows: a demo committed in the Data step is a folder, and still the demo."""
    from core.data.export import write_training_folder
    from core.data.prepare import load_demo_rows
    from core.evaluate import task_for_dataset

    train, test, _ = load_demo_rows("json_extraction")
    folder = write_training_folder(train, test, tmp_path / "datasets" / "json-extraction-20260101-120000-abc123")
    assert task_for_dataset(str(folder)) == "json_extraction"
    assert task_for_dataset(str(tmp_path / "gone")) is None  # moved since: no task, and no crash
    run_dir = make_run(tmp_path / "runs", tiny_model_path)
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "dataset": str(folder)}))
    result = evaluate_run(ModelPool(), run_dir, n=2)
    assert result.kind == "task_scores" and "valid_json_rate" in result.before
    assert result.examples[0]["reference"] == test[0]["completion"][0]["content"]


def test_answering_rows_tells_which_rows_and_how_many_tokens_as_it_goes(tiny_model_path, tmp_path, monkeypatch):
    """Quick scores used to stand at one message for minutes: now the text counts rows and tokens on."""
    from types import SimpleNamespace

    import core.generation
    from core.generation import generate_for_rows
    from core.models.catalog import load_trained_model
    from tests.run_folders import make_adapter

    model, tokenizer = load_trained_model(make_adapter(tiny_model_path, tmp_path / "adapter"))
    clock = iter(range(0, 10_000, 1))  # each reading a "second" later than the last, half of them skipped below
    monkeypatch.setattr(core.generation.time, "monotonic", lambda: next(clock) / 1.5)
    heard = []
    rows = [{"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": "A"}]}
            for i in range(3)]  # fmt: skip
    answers = generate_for_rows(
        SimpleNamespace(model=model, tokenizer=tokenizer), rows, 4, batch_size=2, progress=heard.append, what="Base: "
    )
    assert len(answers) == 3
    import re

    said = [re.fullmatch(r"Base: (rows \d-\d of 3), (\d) of at most 4 tokens\.\.\.", m) for m in heard]
    assert all(said) and {m.group(1) for m in said} == {"rows 1-2 of 3", "rows 3-3 of 3"}
    assert len(heard) < 2 * 4  # at most once a "second", not once a token


def test_the_score_bar_moves_a_step_per_batch_not_per_token_message():
    from ui.tryit_context import progress_reporter

    bars = []
    report = progress_reporter(lambda fraction, desc: bars.append((round(fraction, 2), desc)), expected=4)
    for message in (
        "Loading the base model...",
        "Base: rows 1-8 of 20, 1 of at most 96 tokens...",
        "Base: rows 1-8 of 20, 2 of at most 96 tokens...",
        "Base: rows 9-16 of 20, 1 of at most 96 tokens...",
    ):
        report(message)  # fmt: skip
    assert [fraction for fraction, _ in bars] == [0.25, 0.5, 0.5, 0.75]
