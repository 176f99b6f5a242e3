"""Step 1, "Should I fine-tune?": the SFT decision checklist and an honest verdict.

The five questions and the dataset-size marks come from sft-facts §1.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    why: str


QUESTIONS: tuple[Question, ...] = (
    Question(
        "tried_prompting",
        "Have you already tried prompt engineering with an existing instruction-tuned model?",
        "Prompting is cheaper and faster; fine-tune when it has clearly fallen short.",
    ),
    Question(
        "needs_format",
        "Do you need a consistent output format that prompting cannot reliably get?",
        "SFT is strongest at changing behaviour and format, such as always answering in strict JSON.",
    ),
    Question(
        "specialised_domain",
        "Is your domain specialised enough that general models struggle?",
        "Fine-tuning adapts style and format to a domain; most facts still come from pre-training.",
    ),
    Question(
        "has_data",
        "Do you have high-quality training data: at least 1,000 examples?",
        "1,000 good examples is the minimum for basic fine-tuning; 10,000+ for robust behaviour.",
    ),
    Question(
        "has_compute",
        "Do you have the compute for training and evaluation?",
        "A GPU with at least 16 GB for a 3B model; far less for 135M-360M models (this app's default runs on a CPU).",
    ),
)

# sft-facts §1: dataset-size guidance.
MINIMUM_ROWS = 1_000
ROBUST_ROWS = 10_000


@dataclass(frozen=True)
class Verdict:
    """The outcome of the checklist."""

    decision: str  # "fine-tune", "borderline" or "try-prompting-first"
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


def judge(answers: dict[str, bool | None], dataset_rows: int | None = None) -> Verdict:
    """Mostly "yes" means SFT is likely worth it; mostly "no" means prompt first (sft-facts §1).

    Unanswered questions (None) don't count either way. A loaded dataset
    answers the data question by its size when the user hasn't.

    >>> judge({q.key: True for q in QUESTIONS}).decision
    'fine-tune'
    >>> judge({q.key: False for q in QUESTIONS}).decision
    'try-prompting-first'
    """
    answers = dict(answers)
    if answers.get("has_data") is None and dataset_rows is not None:
        answers["has_data"] = dataset_rows >= MINIMUM_ROWS
    reasons = []
    yes = no = 0
    for question in QUESTIONS:
        value = answers.get(question.key)
        if value is None:
            continue
        yes += value
        no += not value
        reasons.append(f"{'Yes' if value else 'No'}: {question.text} {question.why}")
    answered = yes + no
    if answered == 0:
        return Verdict("borderline", "Answer the questions to get a verdict.", [], 0)
    if answers.get("tried_prompting") is False:
        reasons.insert(0, "You haven't tried prompting yet: do that first, it may be all you need.")
    if yes >= 4 or (yes >= 3 and no <= 1):
        decision, title = "fine-tune", "Fine-tuning looks worth it."
    elif no >= 3:
        decision, title = "try-prompting-first", "Try prompting an instruction-tuned model first."
    else:
        decision, title = "borderline", "Borderline: fine-tuning may help, but check the 'No' answers first."
    if dataset_rows is not None:
        reasons.append(dataset_size_advice(dataset_rows))
    return Verdict(decision, title, reasons, answered)
