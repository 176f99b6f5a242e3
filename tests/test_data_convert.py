"""Converters (core/data/to_trl.py, conversion.py): right output for each source shape, inputs never mutated,
and nothing but DataError escapes for any input (fuzzed with hypothesis)."""

from __future__ import annotations

import copy
import doctest
import importlib
import pkgutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core.data
from core.data.convert import convert_rows, recommend_target_format
from core.data.errors import DataError
from core.data.formats import TRL_FORMATS
from core.data.load import load_file
from core.data.to_trl import ColumnMapping, check_mapping, convert_row, freeze, normalize_role
from tests import BAD_DIR

SOURCES = ("text", "messages", "prompt_completion", "conversational_prompt_completion", "sharegpt", "alpaca",
           "openai_chat", "raw_columns")  # fmt: skip


def test_sharegpt_roles_are_mapped_and_unknown_ones_kept_for_validation():
    rows = load_file(BAD_DIR / "sharegpt_roles.jsonl").rows
    result = convert_rows(rows, "sharegpt", "messages")
    assert [t["role"] for t in result.rows[0]["messages"]] == ["system", "user", "assistant"]
    assert [t["role"] for t in result.rows[1]["messages"]] == ["user", "assistant"]  # bot -> assistant
    assert result.rows[2]["messages"][1]["role"] == "narrator"  # validation names it
    assert "Renamed role 'human' to 'user' in 3 turns." in result.notes
    assert "Renamed role 'bot' to 'assistant' in 1 turns." in result.notes


def test_sharegpt_system_column_becomes_the_system_message():
    row = {"system": "Be brief.", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]}
    assert convert_row(row, "sharegpt", "messages")["messages"][0] == {"role": "system", "content": "Be brief."}


def test_alpaca_becomes_conversational_prompt_completion_with_input_appended():
    row = {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"}
    assert convert_row(row, "alpaca", "conversational_prompt_completion") == {
        "prompt": [{"role": "user", "content": "Translate to French.\n\nGood morning"}],
        "completion": [{"role": "assistant", "content": "Bonjour"}],
    }
    converted = convert_row({"instruction": "Say hi.", "input": "", "output": "Hi"}, "alpaca", "messages")
    assert converted["messages"][0] == {"role": "user", "content": "Say hi."}


def test_raw_columns_with_system_reasoning_and_context():
    row = {"q": "What is 6 x 7?", "ctx": "Times tables.", "why": "6 x 7 = 42.", "a": 42, "sys": "Be exact."}
    mapping = ColumnMapping("q", "a", system="sys", reasoning="why", context="ctx")
    out = convert_row(row, "raw_columns", "conversational_prompt_completion", mapping)
    assert out["prompt"] == [
        {"role": "system", "content": "Be exact."},
        {"role": "user", "content": "What is 6 x 7?\n\nTimes tables."},
    ]
    assert out["completion"] == [{"role": "assistant", "content": "<think>\n6 x 7 = 42.\n</think>\n42"}]
    assert convert_row(row, "raw_columns", "prompt_completion", mapping) == {
        "prompt": "Be exact.\n\nWhat is 6 x 7?\n\nTimes tables.\n",
        "completion": "<think>\n6 x 7 = 42.\n</think>\n42",
    }


@pytest.mark.parametrize(
    "row, message",
    [
        ({"q": "Hi"}, "The answer column 'a' is missing"),
        ({"q": "Hi", "a": None}, "The answer column 'a' is empty (null)"),
        ({"q": "Hi", "a": "  "}, "The answer column 'a' is empty"),
        ({"q": ["Hi"], "a": "x"}, "The prompt column 'q' holds a list, not text"),
    ],
)
def test_raw_rows_that_cannot_be_mapped_name_the_column(row, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        convert_row(row, "raw_columns", "messages", ColumnMapping("q", "a"))


def test_messages_to_prompt_completion_splits_before_the_last_answer():
    turns = [{"role": "user", "content": "1"}, {"role": "assistant", "content": "2"},
             {"role": "user", "content": "3"}, {"role": "assistant", "content": "4"}]  # fmt: skip
    out = convert_row({"messages": turns}, "messages", "conversational_prompt_completion")
    assert out == {"prompt": turns[:3], "completion": turns[3:]}
    with pytest.raises(DataError, match="goes on after its last assistant answer"):
        convert_row({"messages": turns[:3]}, "messages", "conversational_prompt_completion")
    with pytest.raises(DataError, match="no assistant turn"):
        convert_row({"messages": turns[:1]}, "messages", "conversational_prompt_completion")


def test_impossible_targets_are_explained():
    with pytest.raises(DataError, match="can only be trained as 'text'"):
        convert_row({"text": "x"}, "text", "messages")
    with pytest.raises(DataError, match="need the model's chat template"):
        convert_row({"messages": []}, "messages", "prompt_completion")
    with pytest.raises(DataError, match="not one of TRL's formats"):
        convert_rows([{"text": "x"}], "text", "sharegpt")


def test_openai_tool_calls_are_converted_by_row_and_extras_reported():
    rows = [
        {"messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi", "name": "bo"},
                      {"role": "assistant", "content": "Yo", "weight": 1}]},
        {"messages": [{"role": "user", "content": "Weather?"},
                      {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}]},
        {"messages": [{"role": "user", "content": "Time?"},
                      {"role": "assistant", "tool_calls": [{"function": {"name": "now", "arguments": "{}"}}]}]},
    ]  # fmt: skip
    result = convert_rows(rows, "openai_chat", "messages")
    assert result.rows[0]["messages"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Yo"},
    ]  # fmt: skip
    assert result.rows[1] is None and "Turn 2: a tool call has no function name" in result.failures[1]
    assert result.rows[2]["messages"][1]["tool_calls"] == [
        {"type": "function", "function": {"name": "now", "arguments": {}}}
    ]
    assert any("'name' in 1 turns" in note for note in result.notes)
    assert "row 2" in result.summary()


def test_conversion_keeps_row_order_and_reports_failures_by_row_number():
    rows = [{"q": "a", "a": "b"}, {"q": "c"}, {"q": "d", "a": "e"}]
    result = convert_rows(rows, "raw_columns", "messages", ColumnMapping("q", "a"), columns=["q", "a"])
    assert [r is None for r in result.rows] == [False, True, False]
    assert result.n_converted == 2 and list(result.failures) == [1]
    assert "Converted 2 of 3 rows" in result.summary() and "row 2" in result.summary()


def test_check_mapping_names_the_missing_column():
    with pytest.raises(DataError, match="no column 'Answer'"):
        check_mapping(ColumnMapping("Question", "Answer"), ["Question", "Response"])
    with pytest.raises(DataError, match="need a column mapping"):
        convert_rows([{"a": 1}], "raw_columns", "messages")


def test_recommendations_put_the_loss_on_the_answer_for_instruction_data():
    assert recommend_target_format("raw_columns")[0] == "conversational_prompt_completion"
    assert "answer only" in recommend_target_format("alpaca")[1]
    single = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}] * 10
    multi = [{"messages": single[0]["messages"] * 2}] * 10
    assert recommend_target_format("messages", single)[0] == "conversational_prompt_completion"
    assert recommend_target_format("messages", multi)[0] == "messages"
    assert recommend_target_format("text")[0] == "text"


def test_role_aliases():
    assert [normalize_role(r) for r in ("Human", "GPT", "bot", "developer", "narrator", 3)] == [
        "user", "assistant", "assistant", "system", "narrator", 3,
    ]  # fmt: skip


# --- fuzzing: any dict, any source, any target -> a dict or a DataError, and the input is untouched -----------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
TURN_KEYS = st.sampled_from(["role", "content", "from", "value", "name", "weight", "tool_calls"])
turns = st.lists(st.dictionaries(TURN_KEYS, json_values, max_size=4) | json_values, max_size=4)
KEYS = st.sampled_from(["text", "messages", "prompt", "completion", "conversations", "instruction", "input",
                        "output", "system", "q", "a", "tools"])  # fmt: skip
rows = st.dictionaries(KEYS, json_values | turns, max_size=6)
mappings = st.builds(
    ColumnMapping, st.sampled_from(["q", "a", "text"]), st.sampled_from(["a", "q", "output"]),
    st.none() | st.just("system"), st.none() | st.just("input"), st.none() | st.just("prompt"),
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=rows | json_values, source=st.sampled_from(SOURCES), target=st.sampled_from(TRL_FORMATS), mapping=mappings)
def test_fuzz_convert_row_raises_only_data_error_and_never_mutates(row, source, target, mapping):
    before = copy.deepcopy(row)
    try:
        out = convert_row(row, source, target, mapping)
    except DataError as err:
        assert str(err).strip()
    else:
        assert isinstance(out, dict) and set(out) <= {"text", "messages", "prompt", "completion"}
    assert row == before


@settings(max_examples=50, deadline=None)
@given(data=st.lists(rows, max_size=8), source=st.sampled_from(SOURCES), target=st.sampled_from(TRL_FORMATS))
def test_fuzz_convert_rows_accounts_for_every_row(data, source, target):
    try:
        result = convert_rows(data, source, target, ColumnMapping("q", "a"))
    except DataError:
        return
    assert len(result.rows) == len(data)
    assert {i for i, r in enumerate(result.rows) if r is None} == set(result.failures)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_fuzz_freeze_is_hashable_and_order_insensitive(value):
    hash(freeze(value))
    if isinstance(value, dict):
        assert freeze(dict(reversed(list(value.items())))) == freeze(value)


def test_every_core_data_module_passes_its_doctests():
    failed = {}
    for info in pkgutil.iter_modules(core.data.__path__):
        module = importlib.import_module(f"core.data.{info.name}")
        result = doctest.testmod(module)
        if result.failed:
            failed[info.name] = result.failed
    assert failed == {}
