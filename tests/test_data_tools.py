"""Tool-calling data end to end (core/data/tools.py, core/data/tool_templates.py, the tool-call score).

The corpus files in tests/data/real_shapes/ are written by hand in the shapes other tools export.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.data.errors import DataError
from core.data.load import load_path, loaded_from_rows
from core.data.to_trl import convert_row
from core.data.tool_templates import dataset_from_rows, hermes_text_row, renders_tools, rows_for_template
from core.data.tools import normalize_call, row_tools, tool_turn
from core.data.validate import check_row
from core.data.wizard import check_dataset, draft_dataset, split_dataset
from core.demo_data import generate_demo
from core.demo_tool_calls import DEMO_TOOLS
from core.scoring import check_tool_call, schema_problems, score_tool_calls

SHAPES = Path(__file__).parent / "data" / "real_shapes"
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
FALLBACK = "SmolLM2-135M-Instruct's chat template can't render tools; SFT Coach writes them as text in the Hermes/Qwen"
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}

# A tiny template with a tools branch and a tool_calls branch, to stand for SmolLM3's or Qwen's.
TOOLS_TEMPLATE = (
    "{% if tools %}TOOLS:{{ tools | tojson }}\n{% endif %}{% for m in messages %}{{ m.role }}: "
    "{% if m.tool_calls %}{% for c in m.tool_calls %}CALL {{ c.function.name }} {{ c.function.arguments | tojson }}"
    "{% endfor %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}"
)


def _check(name: str, tokenizer, target: str | None = None):
    """The file drafted as the Data step does (``target`` None: its recommended format) and checked."""
    draft = draft_dataset(load_path(SHAPES / name), name, target_format=target)
    return draft, check_dataset(draft, tokenizer, model_id=MODEL)


# -- converters ---------------------------------------------------------------------------------------------------
def test_tool_lists_in_every_spelling_become_openai_functions():
    openai = {"tools": [{"type": "function", "function": WEATHER}]}
    bare = {"tools": [WEATHER]}
    legacy = {"functions": [WEATHER]}
    as_string = {"tools": json.dumps([WEATHER])}
    assert row_tools(openai) == row_tools(bare) == row_tools(legacy) == row_tools(as_string)
    assert row_tools(bare)[0] == {"type": "function", "function": {**WEATHER, "description": ""}}


def test_calls_get_object_arguments_and_results_become_tool_turns():
    as_string = normalize_call({"function": {"name": "f", "arguments": '{"x": 1}'}}, "Turn 2")
    as_object = normalize_call({"function": {"name": "f", "arguments": {"x": 1}}}, "Turn 2")
    assert as_string == as_object == {"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}
    legacy = tool_turn({"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}, "role", "content", 2)
    assert legacy["tool_calls"][0]["function"] == {"name": "f", "arguments": {}}
    observation = tool_turn({"from": "observation", "value": {"t": 4}}, "from", "value", 3)
    assert observation == {"role": "tool", "content": '{"t": 4}'}


def test_bad_json_names_the_turn_and_the_problem():
    row = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "function_call": "{oops"}]}
    with pytest.raises(DataError, match="Turn 2: the tool call can't be read as JSON"):
        convert_row(row, "openai_chat", "messages")
    with pytest.raises(DataError, match="The 'tools' column can't be read as JSON"):
        convert_row({"messages": row["messages"][:1], "tools": "[{"}, "openai_chat", "messages")


def test_validation_accepts_tool_turns_and_calls_without_text():
    row = {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "w", "arguments": {}}}]},
            {"role": "tool", "content": "4 C"},
            {"role": "tool", "content": "5 C"},
            {"role": "assistant", "content": "Cold."},
        ]
    }
    assert check_row(row, "messages") == []


# -- template capability and the text fallback ---------------------------------------------------------------------
def test_a_template_with_tools_is_left_alone_and_smollm2s_gets_the_text_fallback(data_tokenizer):
    import copy

    assert renders_tools(data_tokenizer) is False  # SmolLM2: crashes on content None, ignores tools
    capable = copy.copy(data_tokenizer)
    capable.chat_template = TOOLS_TEMPLATE
    assert renders_tools(capable) is True
    row = generate_demo("tool_calling", n_train=1, n_test=0)["train"][0]
    assert rows_for_template([row], capable) == ([row], "")
    (text_row,), note = rows_for_template([row], data_tokenizer, "SmolLM2-135M-Instruct")
    assert note.startswith(FALLBACK) and "SmolLM3 or Qwen2.5/Qwen3" in note
    assert "tools" not in text_row and "<tools>" in text_row["messages"][0]["content"]
    assert text_row["messages"][-1]["content"].startswith("<tool_call>\n{")
    assert rows_for_template([text_row], data_tokenizer) == ([text_row], "")  # twice is harmless


def test_parallel_results_share_one_tool_turn_and_hermes_rows_are_not_wrapped_twice():
    call = {"type": "function", "function": {"name": "w", "arguments": {}}}
    row = {
        "messages": [
            {"role": "user", "content": "Both?"},
            {"role": "assistant", "content": "", "tool_calls": [call, call]},
            {"role": "tool", "content": "1"},
            {"role": "tool", "content": "<tool_response>\n2\n</tool_response>"},
        ],
        "tools": [{"type": "function", "function": WEATHER}],
    }
    roles = [m["role"] for m in hermes_text_row(row)["messages"]]
    assert roles == ["system", "user", "assistant", "tool"]
    assert hermes_text_row(row)["messages"][-1]["content"].count("<tool_response>") == 2


def test_tool_rows_keep_their_own_arguments_in_a_dataset():
    rows = generate_demo("tool_calling", n_train=8, n_test=0)["train"]
    assert dataset_from_rows(rows).to_list() == rows  # plain from_list would add other rows' keys as None


# -- the corpus: shapes other tools export -------------------------------------------------------------------------
def test_openai_fine_tuning_rows_with_tools(data_tokenizer):
    draft, check = _check("openai_tools.jsonl", data_tokenizer, target="messages")  # every turn, to see them all
    assert draft.detection.format == "openai_chat" and draft.target_format == "messages"
    assert check.report.trained == [0, 1, 2]
    (problem,) = check.report.problems
    assert problem.row == 4 and problem.code == "not_converted"
    assert "Turn 2: the arguments of the call to 'get_weather' can't be read as JSON" in problem.message
    assert all("tools" in row for row in draft.conversion.rows if row)  # the column is not dropped
    assert check.tools_note.startswith(FALLBACK)
    trained = check.trained_rows()
    assert '"arguments": {"city": "Rome", "unit": "fahrenheit"}' in trained[2]["messages"][2]["content"]
    assert trained[2]["messages"][2]["content"].startswith("Checking both.\n<tool_call>")


def test_rows_with_tool_results_are_recommended_as_prompt_completion_so_results_carry_no_loss(data_tokenizer):
    """As 'messages' on SmolLM2 every token carries loss: the model would learn to write the tools' results."""
    for name in ("openai_tools.jsonl", "sharegpt_function_call.jsonl"):
        draft, check = _check(name, data_tokenizer, target=None)
        assert draft.target_format == "conversational_prompt_completion", name
        assert "tool results, which the model must read, not learn to write" in draft.recommendation_reason
        for row in check.trained_rows():
            assert [m["role"] for m in row["completion"]] == ["assistant"]  # results only ever in the prompt
    draft, _ = _check("tools_no_call.jsonl", data_tokenizer, target=None)
    assert "tool results" not in draft.recommendation_reason  # no results to protect: the usual rule


def test_sharegpt_function_call_and_observation_turns(data_tokenizer):
    draft, check = _check("sharegpt_function_call.jsonl", data_tokenizer, target="messages")
    assert draft.detection.format == "sharegpt"
    assert check.report.trained == [0, 1, 2] and check.report.problems == []
    assert "Renamed role 'observation' to 'tool' in 1 turns." in draft.conversion.notes
    first = draft.conversion.rows[0]
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert first["tools"][1]["function"]["name"] == "search_flights"
    assert check.trained_rows()[0]["messages"][0]["content"].startswith("You help travellers.\n\n")


def test_tools_without_a_call_keep_their_tool_list(data_tokenizer):
    draft, check = _check("tools_no_call.jsonl", data_tokenizer)
    assert draft.detection.format == "openai_chat"
    assert draft.target_format == "conversational_prompt_completion"
    assert check.report.trained == [0, 1] and check.report.problems == []
    assert len(draft.conversion.rows[1]["tools"]) == 2
    assert '"name": "search_flights"' in check.trained_rows()[1]["prompt"][0]["content"]


def test_hermes_rows_with_calls_already_in_text(data_tokenizer):
    draft, check = _check("hermes_text_calls.jsonl", data_tokenizer)
    assert draft.detection.format == "sharegpt"
    assert check.report.trained == [0, 1] and check.report.problems == []
    assert check.tools_note == ""  # nothing to rewrite: the rows are text already
    assert check.trained_rows()[0]["prompt"][3] == {
        "role": "tool",
        "content": '<tool_response>\n{"temperature": 12}\n</tool_response>',
    }


def test_the_preview_shows_the_text_that_is_written(data_tokenizer):
    from core.data.preview import render_training_preview

    rows = generate_demo("tool_calling", n_train=24, n_test=0)["train"]
    check = check_dataset(draft_dataset(loaded_from_rows(rows, "demo"), "demo"), data_tokenizer, model_id=MODEL)
    rendered = render_training_preview(check.trained_rows(), data_tokenizer, n=2)
    assert "<tool_call>\n{" in rendered[0].text and "<tools>" in rendered[0].text
    split = split_dataset(check)
    assert all("tools" not in row for row in split.train + split.validation)


# -- the score -----------------------------------------------------------------------------------------------------
def test_schema_validator_checks_types_required_enums_and_nesting():
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1},
            "tags": {"type": "array", "items": {"type": "string"}},
            "where": {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}}, "required": ["unit"]},
        },
        "required": ["n"],
        "additionalProperties": False,
    }
    assert schema_problems({"n": 2, "tags": ["a"], "where": {"unit": "c"}}, schema) == []
    assert schema_problems({"n": 0, "tags": [1], "where": {}, "x": 1}, schema) == [
        "arguments.n: must be at least 1",
        "arguments.tags[0]: must be string, not int",
        "arguments.where: 'unit' is required",
        "arguments: 'x' is not a parameter",
    ]
    assert schema_problems({"n": True}, schema) == ["arguments.n: must be integer, not bool"]


def test_tool_call_score_reads_each_style_and_gives_reasons():
    reference = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    predictions = [
        reference,
        '{"name": "get_weather", "arguments": {"city": "Lima"}}',
        '{"type": "function", "function": {"name": "get_weather", "arguments": "{\\"unit\\": \\"kelvin\\"}"}}',
        "It is cold in Oslo.",
        "Hello!",
    ]
    score = score_tool_calls(predictions, [reference] * 4 + ["Hi!"], DEMO_TOOLS)
    assert score["valid_tool_call_rate"] == 0.5 and score["right_call_rate"] == 0.25
    assert score["direct_answer_rate"] == 1.0
    assert (
        score["reasons"][2] == "arguments: 'city' is required; arguments.unit: must be one of 'celsius', 'fahrenheit'"
    )
    assert score["reasons"][1].startswith("a valid call, but not the expected")
    assert check_tool_call('{"name": "fly", "arguments": {}}', DEMO_TOOLS)[1].startswith("calls 'fly', which is not")


def test_the_demo_is_deterministic_and_balanced():
    first = generate_demo("tool_calling", seed=3, n_train=40, n_test=8)
    assert first == generate_demo("tool_calling", seed=3, n_train=40, n_test=8)
    kinds = [("call" if r["messages"][1].get("tool_calls") else "direct") for r in first["train"]]
    assert kinds.count("direct") == 10
    assert sum(len(r["messages"]) == 4 for r in first["train"]) == 10  # call, result and final answer
    for row in first["train"]:
        for message in row["messages"]:
            for call in message.get("tool_calls", []):
                text = json.dumps({"name": call["function"]["name"], "arguments": call["function"]["arguments"]})
                assert check_tool_call(text, row["tools"])[0] is not None


def test_a_probe_set_from_the_demo_shows_the_model_its_tools():
    from core.probe_sets import prompts_from_demo

    first = prompts_from_demo("tool_calling", limit=1)[0]
    assert first.messages[0][0] == "system" and "<tools>" in first.messages[0][1]
    assert first.reference.startswith("<tool_call>\n{")


def test_lengths_count_the_tool_list_a_capable_template_renders(data_tokenizer):
    import copy

    from core.data.stats import measure_lengths

    capable = copy.copy(data_tokenizer)
    capable.chat_template = TOOLS_TEMPLATE
    row = generate_demo("tool_calling", n_train=1, n_test=0)["train"][0]
    with_tools = measure_lengths([row], "messages", capable).lengths[0]
    without = measure_lengths([{"messages": row["messages"]}], "messages", capable).lengths[0]
    assert with_tools > without + 50  # the JSON schemas are in the measured text


def test_conversational_prompt_completion_rows_keep_their_calls_and_tools():
    call = {"function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    row = {
        "prompt": [{"role": "user", "content": "Oslo?"}],
        "completion": [{"role": "assistant", "content": None, "tool_calls": [call]}],
        "tools": [WEATHER],
    }
    out = convert_row(row, "conversational_prompt_completion", "conversational_prompt_completion")
    assert out["completion"][0]["tool_calls"][0]["function"]["arguments"] == {"city": "Oslo"}
    assert out["tools"][0]["function"]["name"] == "get_weather"


def test_every_demo_row_fits_the_default_max_length_as_text(data_tokenizer):
    """A row cut at 512 tokens (RunConfig's default) would lose its call, which sits at the end."""
    from core.data.load import load_demo

    draft = draft_dataset(load_demo("tool_calling"), "tool_calling")
    check = check_dataset(draft, data_tokenizer, model_id=MODEL, max_length=512)
    assert check.stats.max < 512 and check.report.problems == []
