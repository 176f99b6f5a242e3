"""The built-in demo datasets: reproducible, well-formed, correct, and with a clean held-out split.

Also covers ``core.demo_generators``, which only exists to keep ``core.demo_data`` short.
"""

from __future__ import annotations

import doctest
import json
import re

import pytest

from core import demo_data, demo_generators
from core.demo_data import DEMO_DATASETS, generate_demo, write_demo_jsonl

ENTITY_KEYS = {
    "person": ["type", "name", "age", "city", "job"],
    "product": ["type", "name", "price", "currency", "brand"],
    "event": ["type", "name", "date", "city"],
}
# How the reasoning writes each step: "4 * 3 = 12".
EQUATION = re.compile(r"(\d+(?:\.\d+)?) ([-+*/]) (\d+(?:\.\d+)?) = (\d+(?:\.\d+)?)")
RESPONSE = re.compile(r"The answer is (\d+(?:\.\d+)?)\.")


@pytest.fixture(scope="module")
def json_rows() -> dict[str, list[dict]]:
    return generate_demo("json_extraction")


@pytest.fixture(scope="module")
def word_rows() -> dict[str, list[dict]]:
    return generate_demo("word_problems")


def _question(row: dict) -> str:
    return row["messages"][1]["content"] if "messages" in row else row["Question"]


def test_registry_describes_every_demo():
    assert set(DEMO_DATASETS) == {"json_extraction", "word_problems", "tool_calling"}
    for name, demo in DEMO_DATASETS.items():
        assert demo.name == name and demo.title and demo.description
    assert DEMO_DATASETS["json_extraction"].format == "messages"
    assert DEMO_DATASETS["json_extraction"].suggested_mapping is None
    assert DEMO_DATASETS["word_problems"].format == "raw_columns"
    assert DEMO_DATASETS["word_problems"].suggested_mapping == {
        "prompt": "Question",
        "reasoning": "Complex_CoT",
        "completion": "Response",
    }


@pytest.mark.parametrize("name", ["json_extraction", "word_problems", "tool_calling"])
def test_same_seed_same_rows_and_other_seed_other_rows(name):
    assert generate_demo(name, seed=3) == generate_demo(name, seed=3)
    assert generate_demo(name, seed=3)["train"] != generate_demo(name, seed=4)["train"]


@pytest.mark.parametrize("name", ["json_extraction", "word_problems"])
def test_default_sizes_and_custom_sizes(name):
    rows = generate_demo(name)
    assert (len(rows["train"]), len(rows["test"])) == (1000, 100)
    small = generate_demo(name, n_train=7, n_test=3)
    assert (len(small["train"]), len(small["test"])) == (7, 3)


@pytest.mark.parametrize("name", ["json_extraction", "word_problems"])
def test_no_prompt_repeats_within_or_across_splits(name):
    rows = generate_demo(name)
    train = [_question(r) for r in rows["train"]]
    test = [_question(r) for r in rows["test"]]
    assert len(set(train)) == len(train)
    assert len(set(test)) == len(test)
    assert set(train).isdisjoint(test)


def test_generating_does_not_touch_global_random_state():
    import random

    random.seed(123)
    expected = random.random()
    random.seed(123)
    generate_demo("json_extraction", n_train=20, n_test=5)
    assert random.random() == expected


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="json_extraction, word_problems"):
        generate_demo("medical_reasoning")


def test_negative_sizes_are_refused():
    with pytest.raises(ValueError, match="n_train"):
        generate_demo("word_problems", n_train=-1)


def test_json_rows_have_system_user_assistant_and_the_facts_come_from_the_sentence(json_rows):
    kinds = set()
    for row in json_rows["train"] + json_rows["test"]:
        assert list(row) == ["messages"]
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["system", "user", "assistant"]
        system, user, assistant = (m["content"] for m in row["messages"])
        assert system == demo_generators.JSON_SYSTEM_PROMPT
        assert len(user.split()) < 40
        facts = json.loads(assistant)
        assert list(facts) == ENTITY_KEYS[facts["type"]], f"wrong keys or order: {assistant}"
        assert assistant == json.dumps(facts, ensure_ascii=False)  # compact and consistent, "Zürich" stays as is
        for key, value in facts.items():
            if key != "type":
                assert str(value) in user, f"{key}={value!r} is not in {user!r}"
        kinds.add(facts["type"])
    assert kinds == set(ENTITY_KEYS)


def test_json_numbers_are_json_numbers(json_rows):
    for row in json_rows["train"]:
        facts = json.loads(row["messages"][2]["content"])
        if facts["type"] == "person":
            assert isinstance(facts["age"], int) and 18 <= facts["age"] <= 70
        if facts["type"] == "product":
            assert isinstance(facts["price"], int | float) and facts["price"] > 0
            assert round(facts["price"], 2) == facts["price"]


def test_json_rows_vary_enough_that_copying_beats_memorising(json_rows):
    sentences = [row["messages"][1]["content"] for row in json_rows["train"]]
    names = {json.loads(row["messages"][2]["content"])["name"] for row in json_rows["train"]}
    # Several word orders per kind and wide vocabularies: sentences start in many ways and names rarely repeat.
    assert len({s.split()[0] for s in sentences}) > 50
    assert len(names) > 500


def test_the_first_held_out_rows_show_every_entity_kind(json_rows):
    """The app's probe prompts come from the first held-out rows; each kind should be seen."""
    first = [json.loads(row["messages"][2]["content"])["type"] for row in json_rows["test"][:3]]
    assert sorted(first) == sorted(ENTITY_KEYS)


def test_word_problem_rows_have_three_text_columns(word_rows):
    for row in word_rows["train"] + word_rows["test"]:
        assert list(row) == ["Question", "Complex_CoT", "Response"]
        assert all(isinstance(v, str) and v.strip() for v in row.values())
        assert row["Question"].endswith("?")
        assert len(row["Question"].split()) < 40


def test_word_problem_reasoning_is_correct_arithmetic_ending_in_the_answer(word_rows):
    """Recompute every step of the reasoning and check the Response states the last result."""
    operations = {"+": float.__add__, "-": float.__sub__, "*": float.__mul__, "/": float.__truediv__}
    for row in word_rows["train"] + word_rows["test"]:
        equations = EQUATION.findall(row["Complex_CoT"])
        assert equations, f"no arithmetic step in {row['Complex_CoT']!r}"
        for left, op, right, result in equations:
            assert operations[op](float(left), float(right)) == pytest.approx(float(result)), row["Complex_CoT"]
        answer = RESPONSE.fullmatch(row["Response"])
        assert answer, f"unexpected response {row['Response']!r}"
        assert float(answer.group(1)) == pytest.approx(float(equations[-1][3]))
        assert float(answer.group(1)) >= 0


def test_word_problems_cover_every_kind_including_decimal_answers(word_rows):
    answers = [float(RESPONSE.fullmatch(row["Response"]).group(1)) for row in word_rows["train"]]
    assert any(not a.is_integer() for a in answers)
    assert len({row["Question"].split()[1] for row in word_rows["train"]}) > 20  # many phrasings and names


def test_write_demo_jsonl_round_trips(tmp_path):
    paths = write_demo_jsonl("json_extraction", tmp_path / "new" / "folder", seed=5)
    assert set(paths) == {"train", "test"}
    assert paths["train"].name == "train.jsonl" and paths["test"].name == "test.jsonl"
    expected = generate_demo("json_extraction", seed=5)
    for split, path in paths.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in lines] == expected[split]
    assert "Zürich" in paths["train"].read_text(encoding="utf-8")  # UTF-8 text, not \u escapes


def test_docstring_examples_hold():
    for module in (demo_data, demo_generators):
        assert doctest.testmod(module).failed == 0
