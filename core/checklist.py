"""Step 1, "Should I fine-tune?": the SFT decision checklist and an honest verdict.

The five questions and the dataset-size marks come from sft-facts §1. Each answer is "yes", "no" or
"not sure"; a question not answered yet counts for nothing. Every answer becomes a reason in plain words
that says what it means for the decision (a "not sure" says how to find out), never the question again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

YES, NO, NOT_SURE = "yes", "no", "not sure"
ANSWERS = (YES, NO, NOT_SURE)


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    why: str
    if_yes: str  # the reason shown for each answer: what it means for fine-tuning, in plain words
    if_no: str
    find_out: str  # for "not sure": how to find the answer, quickly


QUESTIONS: tuple[Question, ...] = (
    Question(
        "tried_prompting",
        "Have you already tried prompt engineering with an existing instruction-tuned model?",
        "Prompting is cheaper and faster; fine-tune when it has clearly fallen short.",
        if_yes="Prompting a ready model fell short, so fine-tuning is the next thing to try.",
        if_no="Prompting is untried: do that first, it is cheaper and may be all you need.",
        find_out="Give a ready instruction-tuned model a clear instruction and two or three examples; "
        "if its answers are good enough, you don't need to fine-tune.",
    ),
    Question(
        "needs_format",
        "Do you need a consistent output format that prompting cannot reliably get?",
        "SFT is strongest at changing behaviour and format, such as always answering in strict JSON.",
        if_yes="A format that prompting can't hold is what fine-tuning changes best.",
        if_no="Without a special format or behaviour to teach, the main reason to fine-tune is missing.",
        find_out="Ask a ready model for your format twenty times and count how often it comes out exactly right.",
    ),
    Question(
        "specialised_domain",
        "Is your domain specialised enough that general models struggle?",
        "Fine-tuning adapts style and format to a domain; most facts still come from pre-training.",
        if_yes="A specialised domain gains from fine-tuning's style and wording (facts still come mostly from "
        "pre-training).",
        if_no="General models already handle the subject, so a good prompt may be enough.",
        find_out="Ask a general model ten real questions from your work and see how many answers would pass.",
    ),
    Question(
        "has_data",
        "Do you have high-quality training data: at least 1,000 examples?",
        "1,000 good examples is the minimum for basic fine-tuning; 10,000+ for robust behaviour.",
        if_yes="1,000 or more good examples is enough for basic fine-tuning (10,000+ for robust behaviour).",
        if_no="Under 1,000 good examples is thin: collect or write more first, or curate carefully.",
        find_out="Count your examples, or load them in step 2 and the app counts and checks them for you.",
    ),
    Question(
        "has_compute",
        "Do you have the compute for training and evaluation?",
        "A GPU with at least 16 GB for a 3B model; far less for 135M-360M models (this app's default runs on a CPU).",
        if_yes="The compute is there for training and for checking the result.",
        if_no="Without a GPU, stay with the small 135M-360M models: this app's default trains on a CPU.",
        find_out="Step 3 shows whether the chosen model and settings fit this machine's memory.",
    ),
)

# sft-facts §1: dataset-size guidance.
MINIMUM_ROWS = 1_000
ROBUST_ROWS = 10_000


@dataclass(frozen=True)
class Verdict:
    """The outcome of the checklist."""

    decision: str  # "fine-tune", "borderline", "try-prompting-first", "find-out-first" or "unanswered"
    title: str
    reasons: list[str] = field(default_factory=list)
    answered: int = 0


def dataset_size_advice(rows: int | None) -> str:
    """Where a dataset's row count stands against the 1,000 / 10,000 marks (sft-facts §1).

    >>> dataset_size_advice(500)
    '500 rows: below the 1,000 examples that basic fine-tuning needs. Collect more, or curate carefully.'
    >>> dataset_size_advice(2400).startswith('2,400 rows: enough for basic fine-tuning')
    True
    """
    if rows is None:
        return "Load a dataset in step 2 to see how its size compares with the 1,000 / 10,000 marks."
    if rows < MINIMUM_ROWS:
        return (
            f"{rows:,} rows: below the {MINIMUM_ROWS:,} examples that basic fine-tuning needs. "
            "Collect more, or curate carefully."
        )
    if rows < ROBUST_ROWS:
        return (
            f"{rows:,} rows: enough for basic fine-tuning; {ROBUST_ROWS:,}+ is recommended for robust behaviour. "
            f"Quality beats quantity: {MINIMUM_ROWS:,} curated examples often beat {ROBUST_ROWS:,} mediocre ones."
        )
    return f"{rows:,} rows: at or above the {ROBUST_ROWS:,} recommended for robust behaviour."


def data_answer(rows: int | None) -> str | None:
    """The data question's answer a dataset in use gives by its size; None without one.

    >>> data_answer(999), data_answer(1_000), data_answer(None)
    ('no', 'yes', None)
    """
    return None if rows is None else (YES if rows >= MINIMUM_ROWS else NO)


def _reason(question: Question, answer: str) -> str:
    if answer == YES:
        return question.if_yes
    if answer == NO:
        return question.if_no
    return f"Not sure yet: {question.find_out[0].lower()}{question.find_out[1:]}"


def judge(answers: dict[str, str | None], dataset_rows: int | None = None) -> Verdict:
    """Mostly "yes" means SFT is likely worth it; mostly "no" means prompt first (sft-facts §1).

    A dataset in use (``dataset_rows``) answers the data question by its size. Mostly "not sure" gets
    a verdict too: find these out first, with how.

    >>> judge({q.key: YES for q in QUESTIONS}).decision
    'fine-tune'
    >>> judge({q.key: NO for q in QUESTIONS}).decision
    'try-prompting-first'
    >>> judge({q.key: NOT_SURE for q in QUESTIONS}).decision
    'find-out-first'
    """
    answers = {key: value for key, value in answers.items() if value in ANSWERS}
    if dataset_rows is not None:
        answers["has_data"] = data_answer(dataset_rows)
    reasons = []  # in the questions' order: prompting, the cheapest step, comes first
    for question in QUESTIONS:
        answer = answers.get(question.key)
        if answer is None:
            continue
        if question.key == "has_data" and dataset_rows is not None:
            reasons.append(f"The dataset in use has {dataset_size_advice(dataset_rows)}")
        else:
            reasons.append(_reason(question, answer))
    counts = {answer: sum(value == answer for value in answers.values()) for answer in ANSWERS}
    yes, no, unsure = counts[YES], counts[NO], counts[NOT_SURE]
    if yes + no + unsure == 0:
        return Verdict("unanswered", "Answer the five questions to get a verdict.", [], 0)
    if yes >= 4 or (yes >= 3 and no <= 1):
        decision, title = "fine-tune", "Fine-tuning looks worth it."
    elif no >= 3:
        decision, title = "try-prompting-first", "Try prompting an instruction-tuned model first."
    elif unsure >= 3 or yes + no <= 1:
        decision, title = "find-out-first", "Too much is unknown yet: find out the 'not sure' answers first."
    else:
        decision, title = "borderline", "Borderline: fine-tuning may help; check what the answers below point to."
    if unsure and decision in ("fine-tune", "borderline", "try-prompting-first"):
        title += f" {unsure} answer{'s are' if unsure > 1 else ' is'} still 'not sure': see how to find out below."
    return Verdict(decision, title, reasons, yes + no + unsure)
