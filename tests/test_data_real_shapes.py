"""Files in the shapes other tools export (tests/data/real_shapes/): preference pairs, labels, images, content
parts, per-message weights. Each goes through the Data step's own functions (``draft_dataset``, then
``account_columns``); the test pins the shape found, what every column became, the rows trained and left
out with their reasons, and the sentences the person reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.columns import account_columns, columns_summary
from core.data.errors import DataError
from core.data.load import load_file
from core.data.wizard import draft_dataset

SHAPES = Path(__file__).parent / "data" / "real_shapes"
pytestmark = pytest.mark.unit


def draft_of(name: str, **choices):
    return draft_dataset(load_file(SHAPES / name), Path(name).stem, **choices)


def fates(draft) -> dict[str, str]:
    return {fate.column: fate.fate for fate in account_columns(draft)}


def detail(draft, column: str) -> str:
    return next(f.detail + " " + f.action for f in account_columns(draft) if f.column == column)


def left_out(draft) -> dict[int, str]:
    """1-based row -> problem code, for the rows that are not trained."""
    return {p.row: p.code for p in draft.report.problems if p.severity == "error"}


def test_llama_factory_sharegpt_preference_pairs_train_the_chosen_answers():
    draft = draft_of("preference_sharegpt.json")
    assert draft.source_format == "preference" and draft.target_format == "conversational_prompt_completion"
    assert fates(draft) == {"conversations": "used", "chosen": "used", "rejected": "ignored"}
    assert "DPO" in detail(draft, "rejected") and "chosen" in detail(draft, "rejected")
    rows = draft.conversion.rows
    assert rows[0] == {
        "prompt": [{"role": "user", "content": "What is the capital of Australia?"}],
        "completion": [{"role": "assistant", "content": "The capital of Australia is Canberra."}],
    }
    assert rows[5]["prompt"][0] == {"role": "system", "content": "Answer in one word."}
    assert draft.report.n_trained == 6 and left_out(draft) == {7: "wrong_type"}  # its chosen value is null
    assert "the rejected answers are not used" in " ".join(draft.conversion.notes)


def test_ultrafeedback_pairs_use_the_chosen_conversation_and_say_the_copies_are_not_needed():
    draft = draft_of("preference_ultrafeedback.jsonl")
    assert draft.source_format == "preference"
    assert fates(draft) == {
        "prompt": "ignored",
        "prompt_id": "ignored",
        "chosen": "used",
        "rejected": "ignored",
        "messages": "ignored",
        "score_chosen": "ignored",
        "score_rejected": "ignored",
    }
    assert "whole conversation" in detail(draft, "chosen")
    assert draft.conversion.rows[1]["completion"] == [{"role": "assistant", "content": "Cheerful."}]
    assert left_out(draft) == {6: "not_converted"}
    assert "no assistant turn" in draft.report.problems[0].message


def test_standard_prompt_chosen_rejected_text():
    draft = draft_of("preference_prompt_chosen_rejected.jsonl")
    assert draft.source_format == "preference"
    assert fates(draft) == {"prompt": "used", "chosen": "used", "rejected": "ignored"}
    assert draft.report.summary().startswith("5 of 6 rows will be trained. 1 is left out")
    assert left_out(draft) == {6: "not_converted"} and "chosen is empty" in draft.report.problems[0].message


def test_anthropic_hh_text_is_split_into_turns_and_its_last_answer_trained():
    draft = draft_of("preference_hh.jsonl")
    assert draft.source_format == "preference" and draft.report.n_trained == 6
    multi_turn = draft.conversion.rows[5]
    assert [t["role"] for t in multi_turn["prompt"]] == ["user", "assistant", "user"]
    assert multi_turn["completion"][0]["content"].startswith("Great. A fraction")


def test_kto_labels_train_only_the_good_rows_unless_asked():
    draft = draft_of("kto_labels.jsonl")
    assert draft.source_format == "prompt_completion"
    assert fates(draft) == {"prompt": "used", "completion": "used", "label": "used"}
    assert "the 4 rows marked good are trained, 4 left out" in detail(draft, "label")
    assert left_out(draft) == {5: "marked_bad", 6: "marked_bad", 7: "marked_bad", 8: "marked_bad"}
    assert "SFT would teach this answer as a good one" in draft.report.problems[0].message
    assert "says neither good nor bad" in draft.report.problems[-1].message
    assert "marked not good by its label or score (4)" in draft.report.summary()
    every = draft_of("kto_labels.jsonl", train_every_row=True)
    assert every.report.n_trained == 8 and fates(every)["label"] == "ignored"


def test_a_rating_column_from_a_csv_keeps_the_top_third_of_the_scale():
    draft = draft_of("rated_answers.csv")
    assert draft.source_format == "raw_columns" and draft.mapping.prompt == "question"
    assert fates(draft) == {"question": "used", "answer": "used", "rating": "used"}
    assert draft.label_rule.threshold == 4  # ratings 1-5 (read from text): 4 and 5 are good
    assert sorted(left_out(draft)) == [2, 4, 6] and draft.report.n_trained == 3
    assert "rows scoring 4 or more" in draft.label_rule.describe()


def test_a_class_label_on_plain_text_is_never_read_as_a_verdict():
    draft = draft_of("sentiment_text_label.jsonl")
    assert draft.source_format == "text" and draft.label_rule is None and draft.report.n_trained == 4
    assert fates(draft) == {"text": "used", "label": "ignored"}
    assert "map the text as the prompt and this column as the answer" in detail(draft, "label")


def test_llava_rows_with_images_are_left_out_or_trained_without_placeholders():
    draft = draft_of("llava_images.jsonl")
    assert fates(draft) == {"messages": "used", "images": "blocking"}
    assert left_out(draft) == {1: "has_media", 2: "has_media"} and draft.report.n_trained == 1
    assert "SFT Coach trains text models" in draft.report.problems[0].message
    assert "drop the images" in detail(draft, "images")
    dropped = draft_of("llava_images.jsonl", drop_media=True)
    assert dropped.report.n_trained == 3 and fates(dropped)["images"] == "ignored"
    prompts = [row["prompt"][0]["content"] for row in dropped.conversion.rows]
    assert prompts[:2] == ["Who are they?", "What is in the bowl?"]  # no "<image>" is ever trained as text
    assert all("images" not in row for row in dropped.conversion.rows)


def test_openai_content_parts_are_joined_and_an_image_part_leaves_its_row_out():
    draft = draft_of("openai_content_parts.jsonl")
    assert draft.source_format == "messages" and fates(draft) == {"messages": "used"}
    first = draft.conversion.rows[0]
    assert first["prompt"][1]["content"] == "Define entropy\nin one sentence."
    assert "Joined the text parts of 4 messages into one text each." in draft.conversion.notes
    assert left_out(draft) == {3: "has_media"} and "holds an image" in draft.report.problems[0].message
    kept = draft_of("openai_content_parts.jsonl", drop_media=True)
    assert kept.report.n_trained == 3 and kept.conversion.rows[2]["prompt"][0]["content"] == "What animal is this?"


def test_content_parts_with_value_keys_in_sharegpt():
    draft = draft_of("content_parts_value.jsonl")
    assert draft.source_format == "sharegpt"
    assert draft.conversion.rows[0]["completion"][0]["content"] == "Mercury, Venus and Mars."
    assert left_out(draft) == {2: "not_converted"} and "text part holds a number" in draft.report.problems[0].message


def test_openai_weights_are_honoured_through_the_prompt_completion_split():
    draft = draft_of("openai_weights.jsonl")
    assert draft.source_format == "openai_chat" and draft.target_format == "conversational_prompt_completion"
    assert "weight" in draft.recommendation_reason
    rows = draft.conversion.rows
    assert rows[0]["completion"][0]["content"].startswith("Paris, as if")  # the weight-1 answer is the one trained
    assert rows[0]["prompt"][2] == {"role": "assistant", "content": "Paris"}  # the weight-0 one is context
    assert rows[3]["completion"][0]["content"] == "4, genius."  # the trailing weight-0 answer is cut
    assert [t["role"] for t in rows[3]["prompt"]] == ["user"]
    assert left_out(draft) == {3: "not_converted"} and "marked not trained" in draft.report.problems[0].message
    [note] = draft.conversion.notes
    assert "the 2 answers marked 0 are context only, never learned" in note
    assert "1 earlier answer marked for training is context too" in note
    as_messages = draft_of("openai_weights.jsonl", target_format="messages")
    assert "the 'messages' format trains every turn, those too" in " ".join(as_messages.conversion.notes)


def test_every_column_is_accounted_for_in_every_real_shape_file():
    """No file's column is missing from the list, and each has a reason a person can read."""
    for path in sorted(SHAPES.iterdir()):
        if path.suffix not in (".jsonl", ".json", ".csv"):
            continue
        try:
            draft = draft_of(path.name)
        except DataError:  # files other tests expect to be refused (an empty file)
            continue
        found = account_columns(draft)
        assert [f.column for f in found] == [str(c) for c in draft.loaded.columns], path.name
        assert all(f.detail for f in found), path.name
        assert columns_summary(found).endswith("."), path.name


def test_a_tools_column_is_named_as_the_tools_each_row_offers():
    for name in ("openai_tools.jsonl", "sharegpt_function_call.jsonl", "tools_no_call.jsonl"):
        draft = draft_of(name)
        assert fates(draft)["tools"] == "used", name
        assert "written as text in the system message" in detail(draft, "tools"), name
