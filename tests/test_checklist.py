"""The 'Should I fine-tune?' checklist gives an honest verdict with its reasons."""

from __future__ import annotations

from core.checklist import QUESTIONS, dataset_size_advice, judge


def _answers(yes: set[str]) -> dict[str, bool]:
    return {q.key: q.key in yes for q in QUESTIONS}


def test_five_questions_each_with_a_reason():
    assert len(QUESTIONS) == 5
    assert all(q.text.endswith("?") and q.why for q in QUESTIONS)


def test_mostly_yes_says_fine_tune_and_mostly_no_says_prompt_first():
    assert judge(_answers({q.key for q in QUESTIONS})).decision == "fine-tune"
    assert judge(_answers({"has_compute"})).decision == "try-prompting-first"


def test_mixed_answers_are_borderline_and_every_answer_is_a_reason():
    verdict = judge(_answers({"tried_prompting", "needs_format", "has_data"}))
    assert verdict.decision == "borderline"
    assert len(verdict.reasons) == 5


def test_not_having_tried_prompting_is_called_out_first():
    verdict = judge({"tried_prompting": False, "needs_format": True})
    assert "tried prompting" in verdict.reasons[0]


def test_unanswered_questions_give_no_verdict():
    verdict = judge({})
    assert verdict.answered == 0 and "Answer the questions" in verdict.title


def test_a_loaded_dataset_answers_the_data_question_by_its_size():
    small = judge({"tried_prompting": True, "needs_format": True, "specialised_domain": True}, dataset_rows=200)
    assert any(r.startswith("No: Do you have high-quality training data") for r in small.reasons)
    assert "below the 1,000" in small.reasons[-1]
    big = judge({}, dataset_rows=12_000)
    assert "12,000 rows" in big.reasons[-1]


def test_size_advice_marks():
    assert "below" in dataset_size_advice(999)
    assert "enough for basic" in dataset_size_advice(1_000)
    assert "at or above" in dataset_size_advice(10_000)
