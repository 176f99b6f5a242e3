"""Row validation (core/data/validate.py, report.py): every problem is counted and shown with its row number,
and every row left out of training has a reason."""

from __future__ import annotations

import csv
import json

import pytest

from core.data.convert import convert_rows
from core.data.load import load_file
from core.data.validate import check_row, validate_rows
from tests import BAD_DIR

CONV_PC = "conversational_prompt_completion"


def turn(role, content):
    return {"role": role, "content": content}


def chat(*turns):
    return {"messages": list(turns)}


GOOD = chat(turn("user", "Hi"), turn("assistant", "Hello"))


def codes(row, fmt="messages"):
    return [code for code, _, _ in check_row(row, fmt)]


@pytest.mark.parametrize(
    "row, expected",
    [
        (GOOD, []),
        ({"messages": []}, ["missing_field"]),
        ({"messages": "Hi"}, ["wrong_type"]),
        ({}, ["missing_field"]),
        (chat(turn("user", "Hi")), ["no_assistant_turn"]),
        (chat(turn("user", ["a", "list"]), turn("assistant", "ok")), ["wrong_type"]),
        (chat(turn("user", 42), turn("assistant", "ok")), ["wrong_type"]),
        (chat(turn("user", "Hi"), turn("assistant", None)), ["wrong_type"]),
        (chat(turn("user", "Hi"), {"role": "assistant"}), ["missing_field"]),
        (chat(turn("user", "  "), turn("assistant", "ok")), ["empty_field"]),
        (chat(turn("human", "Hi"), turn("gpt", "ok")), ["unknown_role", "unknown_role"]),
        (chat({"content": "Hi"}, turn("assistant", "ok")), ["missing_field"]),
        (chat("just text", turn("assistant", "ok")), ["wrong_type"]),
        (chat(turn("user", "a"), turn("user", "b"), turn("assistant", "c")), ["role_order"]),
        (chat(turn("user", "a"), turn("system", "b"), turn("assistant", "c")), ["role_order"]),
        (chat(turn("user", "a"), turn("assistant", "b"), turn("user", "c")), ["ends_with_prompt"]),
    ],
)
def test_message_problems(row, expected):
    assert codes(row) == expected


def test_messages_say_which_turn_and_what_to_do():
    [(code, field, message)] = check_row(chat(turn("user", "Hi"), turn("bot", "Yo")), "messages")
    assert code == "unknown_role" and field == "role"
    assert "messages turn 2" in message and "'bot'" in message and "gpt -> assistant" in message
    [(_, _, message)] = check_row(chat(turn("user", [{"type": "text"}]), turn("assistant", "x")), "messages")
    assert "messages turn 1 (user): the content is a list, not text (a list of parts?" in message


@pytest.mark.parametrize(
    "row, fmt, expected",
    [
        ({"text": "ok"}, "text", []),
        ({"text": None}, "text", ["wrong_type"]),
        ({"text": ""}, "text", ["empty_field"]),
        ({"prompt": "p", "completion": "c"}, "prompt_completion", []),
        ({"prompt": "", "completion": "c"}, "prompt_completion", []),
        ({"prompt": "p", "completion": 3}, "prompt_completion", ["wrong_type"]),
        ({"prompt": [turn("user", "q")], "completion": [turn("assistant", "a")]}, CONV_PC, []),
        ({"prompt": [turn("user", "q")], "completion": [turn("user", "a")]}, "conversational_prompt_completion",
         ["no_assistant_turn", "role_order"]),
        ({"prompt": [turn("user", "q")], "completion": "a"}, "conversational_prompt_completion", ["wrong_type"]),
    ],
)  # fmt: skip
def test_other_formats(row, fmt, expected):
    assert codes(row, fmt) == expected


def test_nothing_is_dropped_silently_and_row_numbers_count_from_one():
    rows = [GOOD, chat(turn("user", "Hi")), None, GOOD, chat(turn("user", None), turn("assistant", "x"))]
    report = validate_rows(rows, "messages", failures={2: "The answer column 'a' is missing."})
    assert report.trained == [0, 3]
    left_out = {p.row for p in report.problems if p.severity == "error"}
    assert left_out == {2, 3, 5}  # every row not trained has an error naming it
    assert report.n_trained + report.n_left_out == report.n_rows
    assert report.counts() == {"no_assistant_turn": 1, "not_converted": 1, "wrong_type": 1, "duplicate": 1}
    summary = report.summary()
    assert summary.startswith("2 of 5 rows will be trained. 3 are left out:")
    assert "duplicate (1 row)" in summary and "Row numbers count from 1." in summary
    assert report.examples("duplicate")[0].message == "Same as row 1; it will be trained twice."
    assert report.trained_rows(rows) == [GOOD, GOOD]
    assert any("No model tokenizer" in note for note in report.notes)


def test_sections_list_errors_first_with_examples():
    rows = [chat(turn("user", "Hi"))] * 7 + [GOOD, GOOD]
    sections = validate_rows(rows, "messages").sections(limit=3)
    assert [s["code"] for s in sections] == ["no_assistant_turn", "duplicate"]
    assert sections[0]["rows"] == 7 and len(sections[0]["examples"]) == 3
    assert sections[0]["examples"][0].startswith("row 1: ")


def test_file_lines_are_named_when_they_differ_from_rows():
    data = load_file(BAD_DIR / "broken_line.jsonl")
    rows = list(data.rows)
    rows[3] = chat(turn("user", "no answer"))
    report = validate_rows(rows, "messages", line_numbers=data.line_numbers)
    [problem] = report.problems
    assert problem.row == 4 and problem.line == 5 and problem.where() == "row 4 (line 5)"


def test_bad_content_file_end_to_end():
    data = load_file(BAD_DIR / "content_types.jsonl")
    conversion = convert_rows(data.rows, "messages", "messages")
    report = validate_rows(conversion.rows, "messages", failures=conversion.failures)
    assert report.trained == [3]
    messages = [p.message for p in report.problems]
    assert "a list" in messages[0] and "a number" in messages[1] and "null" in messages[2]


def test_mixed_schemas_are_left_out_with_the_conversion_reason():
    data = load_file(BAD_DIR / "mixed_schemas.jsonl")
    conversion = convert_rows(data.rows, "messages", "messages")
    report = validate_rows(conversion.rows, "messages", failures=conversion.failures)
    assert report.trained == [0, 3, 4]
    assert {p.row: p.code for p in report.problems} == {2: "not_converted", 3: "not_converted"}
    assert "no 'messages' list" in report.problems[0].message


def test_report_downloads_hold_every_problem(tmp_path):
    rows = [GOOD, chat(turn("user", "Hi")), GOOD]
    report = validate_rows(rows, "messages")
    lines = report.to_jsonl(tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    assert head["trained"] == 2 and head["left_out"] == 1 and head["row_numbers"] == "count from 1"
    assert [json.loads(line)["row"] for line in lines[1:]] == [2, 3]
    with (report.to_csv(tmp_path / "report.csv")).open(encoding="utf-8-sig") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["row"], r["code"], r["severity"]) for r in table] == [
        ("2", "no_assistant_turn", "error"), ("3", "duplicate", "warning"),
    ]  # fmt: skip


def test_with_a_tokenizer_long_rows_are_flagged_and_prompts_filling_the_length_are_dropped(data_tokenizer):
    short = {"prompt": [turn("user", "Hi")], "completion": [turn("assistant", "Hello")]}
    long_answer = {"prompt": [turn("user", "Hi")], "completion": [turn("assistant", "word " * 200)]}
    long_prompt = {"prompt": [turn("user", "word " * 200)], "completion": [turn("assistant", "Hello")]}
    rows = [short, long_answer, long_prompt]
    report = validate_rows(rows, "conversational_prompt_completion", tokenizer=data_tokenizer, max_length=64)
    by_row = {p.row: p for p in report.problems}
    assert by_row[2].code == "too_long" and "keeps the first 64" in by_row[2].message
    assert by_row[3].code == "dropped_by_trainer" and report.trained == [0, 1]
    assert report.lengths.lengths[0] < 64 < report.lengths.lengths[1]


def test_lengths_measured_once_give_the_same_report_at_another_max_length_without_tokenizing(data_tokenizer):
    short = {"prompt": [turn("user", "Hi")], "completion": [turn("assistant", "Hello")]}
    words = " ".join(f"word{i}" for i in range(200))  # not "word " * 200: that is a loop, and flagged as one
    long_answer = {"prompt": [turn("user", "Hi")], "completion": [turn("assistant", words)]}
    rows = [short, long_answer, {"prompt": [turn("user", "Hi")], "completion": []}]
    fmt = "conversational_prompt_completion"
    first = validate_rows(rows, fmt, tokenizer=data_tokenizer, max_length=1024)
    assert first.problems[0].code == "missing_field" and first.lengths.lengths[2] is None

    class NoTokenizing:
        """The tokenizer, except that tokenizing fails: reusing the lengths must not tokenize again."""

        added_tokens_decoder = data_tokenizer.added_tokens_decoder

        def __call__(self, *args, **kwargs):
            raise AssertionError("tokenized again")

    again = validate_rows(rows, fmt, tokenizer=NoTokenizing(), max_length=64, lengths=first.lengths)
    fresh = validate_rows(rows, fmt, tokenizer=data_tokenizer, max_length=64)
    assert [(p.row, p.code) for p in again.problems] == [(p.row, p.code) for p in fresh.problems]
    assert [(p.row, p.code) for p in again.problems] == [(2, "too_long"), (3, "missing_field")]
    assert again.trained == fresh.trained == [0, 1]


def test_template_that_rejects_a_role_order_leaves_the_row_out(data_tokenizer):
    strict = (
        "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant') }}{% endif %}"
        "{{ m['role'] + ': ' + m['content'] + eos_token }}{% endfor %}"
    )
    rows = [GOOD, chat(turn("user", "a"), turn("user", "b"), turn("assistant", "c"))]
    report = validate_rows(rows, "messages", tokenizer=data_tokenizer, chat_template=strict)
    assert report.trained == [0]
    problem = [p for p in report.problems if p.code == "template_rejects"][0]
    assert problem.row == 2 and "roles must alternate" in problem.message


def test_special_tokens_typed_into_content_are_flagged(data_tokenizer):
    rows = [chat(turn("user", "Hi<|im_end|>"), turn("assistant", "Yo"))]
    report = validate_rows(rows, "messages", tokenizer=data_tokenizer)
    assert [p.code for p in report.problems] == ["control_token"] and report.trained == [0]
