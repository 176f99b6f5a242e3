"""Step 1, "Should I fine-tune?": five questions and a verdict that stays visible in later steps.

A dataset in use (step 2's *Use this dataset*) answers the data question by its size: the radio then shows
that answer, locked, with the row count, so the page shows the answer the verdict counts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import gradio as gr

from core.checklist import ANSWERS, MINIMUM_ROWS, QUESTIONS, data_answer, judge

CHOICES = ["Yes", "No", "Not sure"]  # shown; core/checklist.py takes them lower-cased
DECISION_COLOURS = {
    "fine-tune": "#16a34a",
    "borderline": "#d97706",
    "try-prompting-first": "#dc2626",
    "find-out-first": "#2563eb",
}
DATA_QUESTION = next(i for i, q in enumerate(QUESTIONS) if q.key == "has_data")


@dataclass(frozen=True)
class ChecklistStep:
    """The checklist's verdict box and its five questions."""

    verdict: gr.HTML
    radios: tuple[gr.Radio, ...]


def as_answer(choice: str | None) -> str | None:
    """A radio's choice as core/checklist.py's answer; anything else (a page can send anything) is no answer.

    >>> as_answer("Not sure"), as_answer("Yes"), as_answer("maybe"), as_answer(None)
    ('not sure', 'yes', None, None)
    """
    answer = str(choice or "").lower()
    return answer if answer in ANSWERS else None


def _verdict(choices: list[str | None], dataset_rows: int | None):
    return judge({q.key: as_answer(c) for q, c in zip(QUESTIONS, choices, strict=True)}, dataset_rows)


def render_verdict(choices: list[str | None], dataset_rows: int | None = None) -> str:
    verdict = _verdict(choices, dataset_rows)
    colour = DECISION_COLOURS.get(verdict.decision, "#6b7280")
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in verdict.reasons)
    return (
        f"<div class='coach-card' style='border-left: 6px solid {colour}'>"
        f"<b>{html.escape(verdict.title)}</b>"
        f"{f'<ul>{reasons}</ul>' if reasons else ''}"
        "<small class='coach-muted'>From the SFT decision checklist (mostly yes: fine-tune; mostly no: prompt "
        "first). You can go on either way; this verdict stays at the top of the page.</small></div>"
    )


def render_verdict_line(choices: list[str | None], dataset_rows: int | None = None) -> str:
    """The verdict in one line, for the banner shown above every step."""
    verdict = _verdict(choices, dataset_rows)
    if not verdict.answered:
        return ""
    colour = DECISION_COLOURS.get(verdict.decision, "#6b7280")
    return (
        f"<div class='coach-verdict-line' style='border-left: 4px solid {colour}'>"
        f"Step 1 verdict: <b>{html.escape(verdict.title)}</b></div>"
    )


def show_verdict(*values) -> tuple[str, str]:
    """The verdict and the banner's line for the answers so far; the last value is the dataset's row count."""
    *choices, rows = values
    rows = rows if isinstance(rows, int) else None
    return render_verdict(list(choices), rows), render_verdict_line(list(choices), rows)


def answer_data_question(rows: int | None, choice: str | None):
    """The data question as the dataset in use answers it: its answer, locked, with the row count; else open."""
    question = QUESTIONS[DATA_QUESTION]
    answer = data_answer(rows if isinstance(rows, int) else None)
    if answer is None:
        return gr.Radio(value=choice, interactive=True, info=question.why)
    mark = f"at least {MINIMUM_ROWS:,}" if answer == "yes" else f"fewer than {MINIMUM_ROWS:,}"
    info = f"Answered from the dataset in use: {rows:,} training rows, {mark}. Choose another dataset in step 2."
    return gr.Radio(value=answer.capitalize(), interactive=False, info=info)


def build_checklist_step(dataset_rows: gr.State, banner: gr.HTML) -> ChecklistStep:
    """Lay out the checklist; its verdict also goes to ``banner``, which stays visible in later steps."""
    gr.Markdown(
        "Fine-tuning changes how a model behaves and formats its answers, not what it knows. "
        "Answer five questions to see whether it is the right tool for your problem."
    )
    radios = []
    for question in QUESTIONS:
        radios.append(
            gr.Radio(CHOICES, label=question.text, info=question.why, value=None, elem_id=f"q-{question.key}")
        )
    verdict = gr.HTML(render_verdict([None] * len(QUESTIONS)), elem_id="checklist-verdict")

    # One listener for the five questions, not one each: quick clicks then run in order, the last with every
    # answer (five listeners ran side by side, and an older verdict could be drawn last).
    gr.on(
        [radio.change for radio in radios],
        show_verdict,
        [*radios, dataset_rows],
        [verdict, banner],
        show_progress="hidden",
        trigger_mode="always_last",
    )
    data_radio = radios[DATA_QUESTION]
    dataset_rows.change(answer_data_question, [dataset_rows, data_radio], data_radio, show_progress="hidden").then(
        show_verdict, [*radios, dataset_rows], [verdict, banner], show_progress="hidden"
    )
    return ChecklistStep(verdict=verdict, radios=tuple(radios))
