"""Scores for the demo tasks: what counts as right, and never a crash on odd model output."""

from __future__ import annotations

import doctest
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import scoring
from core.demo_data import generate_demo
from core.scoring import extract_final_number, extract_json_object, score_json_extraction, score_word_problems

PERSON = '{"type": "person", "name": "Zoë Okafor", "age": 34, "city": "Zürich", "job": "nurse"}'
PRODUCT = '{"type": "product", "name": "Nimbus Kettle", "price": 49.99, "currency": "EUR", "brand": "Lumina"}'


# --- extract_json_object ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PERSON, json.loads(PERSON)),
        (f"Here is the JSON you asked for: {PERSON} Let me know!", json.loads(PERSON)),
        (f"```json\n{PERSON}\n```", json.loads(PERSON)),
        ('Use {curly braces} like this: {"a": 1}', {"a": 1}),
        ('{"a": "a } inside a string"} and {"b": 2}', {"a": "a } inside a string"}),
        ('{"outer": {"inner": 1}}', {"outer": {"inner": 1}}),
        ("[1, 2, 3]", None),
        ("no json here", None),
        ("", None),
        ("{'single': 'quotes'}", None),
        ('{"name": "Ada", "age": }', None),
    ],
)
def test_extract_json_object(text, expected):
    assert extract_json_object(text) == expected


def test_a_cut_off_object_does_not_count_even_if_something_inside_parses():
    assert extract_json_object('{"type": "person", "address": {"city": "Lyon"}, "age": 3') is None


@given(st.text())
def test_extract_json_object_never_raises(text):
    result = extract_json_object(text)
    assert result is None or isinstance(result, dict)


@given(
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4),
    st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=30),
    st.text(max_size=30),
)
def test_extract_json_object_finds_an_object_behind_any_brace_free_prose(obj, before, after):
    assert extract_json_object(before + json.dumps(obj) + after) == obj


def test_deep_nesting_is_not_a_crash():
    assert extract_json_object("{" * 100_000) is None
    assert extract_json_object('{"a": ' + "[" * 100_000) is None


# --- score_json_extraction ---


def test_perfect_json_answers_score_one():
    scores = score_json_extraction([PERSON, PRODUCT], [PERSON, PRODUCT])
    assert scores == {"n": 2, "valid_json_rate": 1.0, "exact_match_rate": 1.0, "field_accuracy": 1.0}


def test_case_spacing_and_number_format_do_not_matter():
    answer = '{"type": "Person", "name": " zoë okafor ", "age": 34.0, "city": "ZÜRICH", "job": "Nurse"}'
    assert score_json_extraction([answer], [PERSON])["exact_match_rate"] == 1.0


def test_partly_right_answers_get_partial_field_accuracy():
    wrong_age_and_city = '{"type": "person", "name": "Zoë Okafor", "age": 43, "city": "Bern", "job": "nurse"}'
    scores = score_json_extraction([wrong_age_and_city], [PERSON])
    assert scores["valid_json_rate"] == 1.0
    assert scores["exact_match_rate"] == 0.0
    assert scores["field_accuracy"] == pytest.approx(3 / 5)


def test_missing_keys_extra_keys_and_numbers_as_strings():
    missing = '{"type": "person", "name": "Zoë Okafor", "age": 34}'
    extra = PERSON[:-1] + ', "country": "Switzerland"}'
    age_as_text = PERSON.replace("34", '"34"')
    scores = score_json_extraction([missing, extra, age_as_text], [PERSON] * 3)
    assert scores["valid_json_rate"] == 1.0
    assert scores["exact_match_rate"] == 0.0  # an extra key is not an exact match
    assert scores["field_accuracy"] == pytest.approx((3 / 5 + 1 + 4 / 5) / 3)


def test_invalid_json_and_prose_around_json():
    predictions = ["The person is Zoë, 34, a nurse.", f"Sure! Here you go:\n```json\n{PERSON}\n```\nDone."]
    scores = score_json_extraction(predictions, [PERSON, PERSON])
    assert scores == {"n": 2, "valid_json_rate": 0.5, "exact_match_rate": 0.5, "field_accuracy": 0.5}


def test_the_demo_references_score_perfectly_against_themselves():
    rows = generate_demo("json_extraction", n_train=0, n_test=30)["test"]
    references = [row["messages"][2]["content"] for row in rows]
    assert score_json_extraction(references, references)["exact_match_rate"] == 1.0


def test_a_reference_that_is_not_json_is_reported():
    with pytest.raises(ValueError, match="Reference 2"):
        score_json_extraction([PERSON, PERSON], [PERSON, "not json"])


# --- extract_final_number ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 42.", 42),
        ("That makes 1,234 pages in total.", 1234),
        ("It costs $12.", 12),
        ("Each pays $22.50.", 22.5),
        ("The temperature fell to -3.", -3),
        ("First 3 + 4 = 7, then 7 * 2 = 14.", 14),
        ("Pages 10-12 are missing", 12),
        ("Counting 1,2,3", 3),
        ("2.5", 2.5),
        ("The answer is −7.", -7),
        ("I don't know.", None),
        ("", None),
    ],
)
def test_extract_final_number(text, expected):
    assert extract_final_number(text) == expected


@given(st.text())
def test_extract_final_number_never_raises(text):
    result = extract_final_number(text)
    assert result is None or isinstance(result, float)


# --- score_word_problems ---


def test_word_problem_scores():
    references = ["The answer is 42.", "The answer is 22.5.", "The answer is 1200.", "The answer is 7."]
    predictions = [
        "<think>6 * 7 = 42</think>\nThe answer is 42.",
        "Each friend pays $22.50.",
        "So they read 1,200 pages.",
        "<think>3 + 4 = 7</think>The answer is 8.",
    ]
    assert score_word_problems(predictions, references) == {"n": 4, "answer_accuracy": 0.75}


def test_numbers_inside_thinking_do_not_count_as_the_answer():
    # The model reasoned its way to 7 but was cut off before answering.
    assert score_word_problems(["<think>3 + 4 = 7"], ["The answer is 7."])["answer_accuracy"] == 0.0
    assert score_word_problems(["<think>3 + 4 = 7</think>I am not sure."], ["7"])["answer_accuracy"] == 0.0


def test_references_with_thinking_are_fine():
    reference = "<think>\n6 * 7 = 42\n</think>\nThe answer is 42."
    assert score_word_problems(["42"], [reference])["answer_accuracy"] == 1.0


def test_the_demo_responses_score_perfectly_against_themselves():
    rows = generate_demo("word_problems", n_train=0, n_test=50)["test"]
    responses = [row["Response"] for row in rows]
    assert score_word_problems(responses, responses)["answer_accuracy"] == 1.0


def test_a_reference_without_a_number_is_reported():
    with pytest.raises(ValueError, match="Reference 1 has no number"):
        score_word_problems(["42"], ["forty-two"])


# --- both scorers ---


@pytest.mark.parametrize("score", [score_json_extraction, score_word_problems])
def test_mismatched_lengths_say_what_to_pass(score):
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        score(["a", "b"], ["c"])


def test_empty_inputs_score_zero_without_dividing_by_zero():
    assert score_json_extraction([], []) == {
        "n": 0,
        "valid_json_rate": 0.0,
        "exact_match_rate": 0.0,
        "field_accuracy": 0.0,
    }
    assert score_word_problems([], []) == {"n": 0, "answer_accuracy": 0.0}


def test_docstring_examples_hold():
    assert doctest.testmod(scoring).failed == 0
