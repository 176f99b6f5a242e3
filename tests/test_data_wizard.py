"""The data wizard's steps in order (core/data/wizard.py): what the Data step shows and writes, without a browser."""

from __future__ import annotations

import pytest

from core.data.errors import DataError
from core.data.load import load_demo, loaded_from_rows
from core.data.prepare import prepare_training_data
from core.data.to_trl import ColumnMapping
from core.data.wizard import check_dataset, draft_dataset, new_dataset_folder, split_dataset, write_dataset

CONV_PC = "conversational_prompt_completion"


def test_word_problems_are_mapped_with_reasoning_in_think_tags_and_every_row_checked():
    draft = draft_dataset(load_demo("word_problems", n_train=50, n_test=10), "word_problems")
    assert draft.detection.needs_mapping and draft.detection.confidence == 1.0
    assert draft.mapping == ColumnMapping("Question", "Response", reasoning="Complex_CoT")
    assert draft.target_format == draft.recommended_format == CONV_PC
    first = draft.conversion.rows[0]
    assert first["completion"][0]["content"].startswith("<think>\n")
    assert "</think>\nThe answer is" in first["completion"][0]["content"]
    assert draft.report.n_trained == 50 and len(draft.validation_rows) == 10


def test_a_row_that_cannot_be_converted_is_left_out_with_its_number():
    rows = [{"Question": f"q{i}", "Response": f"a{i}"} for i in range(5)]
    rows[3]["Response"] = None
    draft = draft_dataset(loaded_from_rows(rows, "typed rows"), "typed")
    assert draft.report.trained == [0, 1, 2, 4]
    assert draft.report.summary().startswith("4 of 5 rows will be trained. 1 is left out: could not be converted")
    assert draft.report.problems[0].row == 4


def test_unusable_choices_are_refused_with_a_sentence():
    loaded = loaded_from_rows([{"q": "a", "a": "b"}], "typed rows")
    with pytest.raises(DataError, match="picked twice"):
        draft_dataset(loaded, "typed", mapping=ColumnMapping("q", "q"))
    with pytest.raises(DataError, match="can't be trained as 'messages'"):
        draft_dataset(loaded_from_rows([{"text": "hello"}], "typed rows"), "typed", target_format="messages")
    unmapped = draft_dataset(loaded_from_rows([{"x": "1", "y": "2"}], "typed rows"), "typed")
    assert unmapped.conversion is None
    with pytest.raises(DataError, match="column mapping"):
        check_dataset(unmapped)


def test_the_tokenizer_check_recommends_a_max_length_and_reuses_lengths_when_it_changes(data_tokenizer):
    draft = draft_dataset(load_demo("word_problems", n_train=40, n_test=0), "word_problems")
    check = check_dataset(draft, data_tokenizer, model_id="tiny")
    assert check.stats.n == 40 and check.stats.p50 <= check.stats.p95 <= check.stats.p99
    # Every word problem is ~100-120 tokens: 512, the smallest usual choice, holds the 95th percentile (sft-facts §3).
    assert check.recommended_max_length == check.max_length == 512
    assert "95th percentile" in check.recommendation_reason
    assert check.truncation_message.startswith("All 40 rows fit in 512 tokens")
    tight = check_dataset(draft, data_tokenizer, max_length=check.stats.p50, lengths=check.lengths)
    assert tight.max_length == check.stats.p50 and tight.lengths is check.lengths
    over = sum(n > check.stats.p50 for n in check.lengths.measured())
    assert tight.truncation_message.startswith(f"{over} rows (")
    assert tight.report.rows_with()["too_long"] == over and tight.report.n_trained == 40


def test_the_written_folder_trains_exactly_the_checked_rows(tmp_path, data_tokenizer):
    rows = [{"Question": f"What is {i} + 1?", "Response": f"{i + 1}"} for i in range(40)]
    rows[7] = {"Question": "   ", "Response": "empty question"}
    draft = draft_dataset(loaded_from_rows(rows, "typed rows"), "My rows")
    check = check_dataset(draft, data_tokenizer)
    split = split_dataset(check, fraction=0.1, seed=3)
    assert len(split.train) == 35 and len(split.validation) == 4  # 39 trainable rows, 10% held out
    assert split_dataset(check, fraction=0.1, seed=3).validation == split.validation
    folder = write_dataset(split, new_dataset_folder(tmp_path, draft.name))
    assert folder.parent == tmp_path and folder.name.startswith("my-rows-")
    prepared = prepare_training_data(str(folder))
    assert prepared.train_rows == split.train and prepared.eval_rows == split.validation
    assert prepared.probes and prepared.probes[0]["messages"][0]["role"] == "user"


def test_the_validation_split_that_came_with_the_data_is_used_when_asked():
    draft = draft_dataset(load_demo("json_extraction", n_train=30, n_test=5), "json_extraction")
    check = check_dataset(draft)
    assert check.model_id is None and check.report is draft.report
    provided = split_dataset(check, use_provided_validation=True)
    assert len(provided.train) == 30 and len(provided.validation) == 5
    own = split_dataset(check, fraction=0.1, use_provided_validation=False)
    assert len(own.train) == 27 and len(own.validation) == 3


@pytest.mark.parametrize("name", ["json_extraction", "word_problems"])
def test_committing_a_demo_trains_the_same_rows_as_the_shortcut(tmp_path, data_tokenizer, name):
    """The Data step's *Use this dataset* on a built-in demo writes the rows that training the demo by name trains.

    They used to differ for the JSON demo: the shortcut trained ``messages`` rows (loss on the system prompt and
    the question too: 2.26 at step 1 on SmolLM2), the guided path prompt-completion (loss on the answer: 1.01).
    """
    from core.data.export import export_jsonl

    draft = draft_dataset(load_demo(name), name)  # as the Data step: load, convert, check with the tokenizer
    split = split_dataset(check_dataset(draft, data_tokenizer), 0.05, 42, use_provided_validation=True)
    committed = write_dataset(split, new_dataset_folder(tmp_path / "mine", name))
    shortcut = prepare_training_data(name)
    export_jsonl(shortcut.train_rows, tmp_path / "shortcut" / "train.jsonl")
    export_jsonl(shortcut.eval_rows, tmp_path / "shortcut" / "test.jsonl")
    for file in ("train.jsonl", "test.jsonl"):
        assert (committed / file).read_bytes() == (tmp_path / "shortcut" / file).read_bytes(), file
    guided = prepare_training_data(str(committed))
    assert guided.train_rows == shortcut.train_rows and guided.eval_rows == shortcut.eval_rows
    assert guided.probes == shortcut.probes and guided.demo == shortcut.demo == name
    assert all("completion" in row for row in guided.train_rows)  # the loss on the answer only, both ways


def test_rows_are_a_demo_by_what_they_hold_not_by_their_name(tmp_path):
    from core.data.export import write_training_folder
    from core.data.prepare import find_demo, load_demo_rows

    train, test, _ = load_demo_rows("json_extraction")
    assert find_demo(train[:50]) == "json_extraction"  # fewer rows, or split another way: still the demo
    raw = load_demo("json_extraction", n_train=20, n_test=0).rows
    assert find_demo(raw) == "json_extraction"  # the generated messages rows, unconverted
    words = load_demo("word_problems", n_train=20, n_test=0).rows
    mapped = draft_dataset(loaded_from_rows(words, "typed"), "w", mapping=ColumnMapping("Question", "Response"))
    assert find_demo(mapped.conversion.rows) == "word_problems"  # mapped without its reasoning column
    changed = [dict(row) for row in train[:50]]
    changed[3] = {**changed[3], "completion": [{"role": "assistant", "content": '{"name": "someone else"}'}]}
    assert find_demo(changed) is None  # one answer that is not the demo's: your own data
    mine = [{"prompt": [{"role": "user", "content": f"q{i}"}], "completion": "a"} for i in range(30)]
    assert find_demo(train[:30] + mine) is None
    folder = write_training_folder(train[:40], test[:10], tmp_path / "renamed-anything")
    assert prepare_training_data(str(folder)).demo == "json_extraction"
