"""The 'Should I fine-tune?' checklist gives an honest verdict with its reasons, for any set of answers."""

from __future__ import annotations

import itertools

from core.checklist import ANSWERS, NO, NOT_SURE, QUESTIONS, YES, dataset_size_advice, judge
from ui.checklist import answer_data_question, render_verdict


def _answers(yes: set[str]) -> dict[str, str]:
    return {q.key: YES if q.key in yes else NO for q in QUESTIONS}


def test_five_questions_each_with_a_reason():
    assert len(QUESTIONS) == 5
    assert all(q.text.endswith("?") and q.why and q.if_yes and q.if_no and q.find_out for q in QUESTIONS)


def test_mostly_yes_says_fine_tune_and_mostly_no_says_prompt_first():
    assert judge(_answers({q.key for q in QUESTIONS})).decision == "fine-tune"
    assert judge(_answers({"has_compute"})).decision == "try-prompting-first"


def test_mixed_answers_are_borderline_and_every_answer_is_a_reason():
    verdict = judge(_answers({"tried_prompting", "needs_format", "has_data"}))
    assert verdict.decision == "borderline"
    assert len(verdict.reasons) == 5


def test_not_having_tried_prompting_is_called_out_first():
    verdict = judge({"tried_prompting": NO, "needs_format": YES})
    assert "Prompting is untried" in verdict.reasons[0]


def test_all_not_sure_says_what_to_find_out_first():
    verdict = judge({q.key: NOT_SURE for q in QUESTIONS})
    assert verdict.decision == "find-out-first" and "find out" in verdict.title
    assert "Answer the" not in verdict.title
    assert len(verdict.reasons) == 5 and all(r.startswith("Not sure yet:") for r in verdict.reasons)


def test_not_sure_answers_appear_in_the_reasons_and_the_title_counts_them():
    verdict = judge({"tried_prompting": YES, "needs_format": YES, "specialised_domain": YES, "has_data": NOT_SURE})
    assert verdict.decision == "fine-tune"
    assert "1 answer is still 'not sure'" in verdict.title
    assert any(r.startswith("Not sure yet: count your examples") for r in verdict.reasons)


def test_every_combination_of_answers_gets_a_verdict_and_a_reason_per_answer():
    for combination in itertools.product((*ANSWERS, None), repeat=len(QUESTIONS)):
        answers = {q.key: a for q, a in zip(QUESTIONS, combination, strict=True)}
        verdict = judge(answers)
        given = sum(a is not None for a in combination)
        assert len(verdict.reasons) == given
        assert verdict.decision != "unanswered" or given == 0, answers


def test_reasons_are_plain_words_that_do_not_repeat_their_question():
    for answer in ANSWERS:
        for reason, question in zip(judge({q.key: answer for q in QUESTIONS}).reasons, QUESTIONS, strict=True):
            assert question.text not in reason and "?" not in reason and not reason.startswith(("Yes:", "No:"))


def test_a_dataset_in_use_answers_the_data_question_by_its_size():
    small = judge({"tried_prompting": YES, "needs_format": YES, "has_data": YES}, dataset_rows=200)
    assert any(r.startswith("The dataset in use has 200 rows: below the 1,000") for r in small.reasons)
    assert len(small.reasons) == 3  # the size advice replaces the answer it overrides, not added to it
    big = judge({"has_data": NOT_SURE}, dataset_rows=12_000)
    assert big.reasons == [f"The dataset in use has {dataset_size_advice(12_000)}"]


def test_the_page_shows_the_data_answer_the_verdict_counts():
    """A dataset in use sets the data radio to the answer it gives, locked, with the row count; none: open again."""
    shown = answer_data_question(2_400, "Not sure")
    assert shown.value == "Yes" and shown.interactive is False and "2,400 training rows" in shown.info
    assert answer_data_question(120, None).value == "No"
    reopened = answer_data_question(None, "Not sure")
    assert reopened.value == "Not sure" and reopened.interactive is True
    assert "Not sure yet" not in render_verdict(["Yes", "Yes", "Yes", "Not sure", "Yes"], 2_400)


def test_a_forged_answer_counts_for_nothing():
    assert "unanswered" == judge({"tried_prompting": "<script>", "has_data": True}).decision  # type: ignore[dict-item]


def test_size_advice_marks():
    assert "below" in dataset_size_advice(999)
    assert "enough for basic" in dataset_size_advice(1_000)
    assert "at or above" in dataset_size_advice(10_000)
