"""Format detection (core/data/detect.py): what a user would see as "Detected ..., how sure"."""

from __future__ import annotations

import pytest

from core.data.detect import detect_format, row_format, sample_indices, suggest_mapping
from core.data.load import load_file
from tests import BAD_DIR

CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"text": "The sky is blue."}, "text"),
        ({"messages": CHAT}, "messages"),
        ({"prompt": "The sky is", "completion": " blue."}, "prompt_completion"),
        ({"prompt": CHAT[:1], "completion": CHAT[1:]}, "conversational_prompt_completion"),
        ({"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]}, "sharegpt"),
        ({"instruction": "Add", "input": "2 2", "output": "4"}, "alpaca"),
        ({"messages": [{"role": "developer", "content": "Be brief"}, *CHAT]}, "openai_chat"),
        ({"messages": [*CHAT[:1], {"role": "assistant", "content": "Hi", "weight": 0}]}, "openai_chat"),
        ({"Question": "q", "Response": "a"}, "raw_columns"),
        ({}, "unknown"),
    ],
)
def test_each_format_is_detected_with_full_confidence(row, expected):
    detection = detect_format([row] * 5)
    assert detection.format == expected
    assert detection.confidence == 1.0
    assert detection.explanation.endswith(".")


def test_structure_wins_over_values_so_bad_content_is_still_messages():
    row = {"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": 3}]}
    assert row_format(row) == "messages"


def test_mixed_schemas_report_the_share_and_the_first_row_that_differs():
    data = load_file(BAD_DIR / "mixed_schemas.jsonl")
    detection = detect_format(data.rows)
    assert detection.format == "messages"
    assert detection.confidence == pytest.approx(0.6)
    assert detection.first_mismatch == 2
    assert detection.counts == {"messages": 3, "text": 1, "alpaca": 1}
    assert "3 of all 5 rows" in detection.explanation and "row 2" in detection.explanation


def test_sampling_spans_the_whole_dataset_so_a_late_schema_change_is_seen():
    rows = [{"text": "a"}] * 9000 + [{"prompt": "p", "completion": "c"}] * 1000
    detection = detect_format(rows, sample_size=200)
    assert detection.format == "text" and 0.85 < detection.confidence < 0.95
    assert "200 rows sampled across the 10,000" in detection.explanation
    assert sample_indices(10_000, 200)[-1] == 9_999


def test_sharegpt_file_with_unusual_roles_is_sharegpt():
    assert detect_format(load_file(BAD_DIR / "sharegpt_roles.jsonl").rows).format == "sharegpt"


def test_raw_columns_come_with_a_suggested_mapping():
    detection = detect_format([{"Question": "q", "Complex_CoT": "c", "Response": "r", "system_prompt": "s"}])
    assert detection.needs_mapping
    mapping = detection.suggested_mapping
    assert (mapping.prompt, mapping.completion, mapping.reasoning, mapping.system) == (
        "Question", "Response", "Complex_CoT", "system_prompt",
    )  # fmt: skip
    assert "Suggested mapping" in detection.explanation
    assert suggest_mapping(["input", "output"]).prompt == "input"
    assert suggest_mapping(["question", "input", "answer"]).context == "input"
    assert "Pick which column" in detect_format([{"a": 1, "b": 2}]).explanation


def test_empty_data_is_explained():
    detection = detect_format([])
    assert detection.format == "unknown" and detection.confidence == 0.0


def test_builtin_demos_are_detected_as_their_declared_format():
    demo_data = pytest.importorskip("core.demo_data")
    for name, demo in demo_data.DEMO_DATASETS.items():
        rows = demo_data.generate_demo(name, seed=0, n_train=50, n_test=0)["train"]
        detection = detect_format(rows)
        assert detection.format == demo.format and detection.confidence == 1.0
        if demo.suggested_mapping:
            mapping = detection.suggested_mapping
            assert {"prompt": mapping.prompt, "reasoning": mapping.reasoning, "completion": mapping.completion} == (
                demo.suggested_mapping
            )
