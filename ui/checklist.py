"""Step 1, "Should I fine-tune?": five questions and a verdict that stays visible in later steps."""

from __future__ import annotations

import html
from dataclasses import dataclass

import gradio as gr

from core.checklist import QUESTIONS, judge

CHOICES = ["Yes", "No", "Not sure"]
DECISION_COLOURS = {"fine-tune": "#16a34a", "borderline": "#d97706", "try-prompting-first": "#dc2626"}


@dataclass(frozen=True)
class ChecklistStep:
    """The checklist's verdict box and its five questions."""

    verdict: gr.HTML
    radios: tuple[gr.Radio, ...]


def _as_bool(choice: str | None) -> bool | None:
    return {"Yes": True, "No": False}.get(choice or "")


def render_verdict(choices: list[str | None], dataset_rows: int | None = None) -> str:
    verdict = judge({q.key: _as_bool(c) for q, c in zip(QUESTIONS, choices, strict=True)}, dataset_rows)
    colour = DECISION_COLOURS.get(verdict.decision, "#6b7280") if verdict.answered else "#6b7280"
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
    verdict = judge({q.key: _as_bool(c) for q, c in zip(QUESTIONS, choices, strict=True)}, dataset_rows)
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
    return render_verdict(list(choices), rows), render_verdict_line(list(choices), rows)


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

    for radio in radios:
        radio.change(show_verdict, [*radios, dataset_rows], [verdict, banner], show_progress="hidden")
    dataset_rows.change(show_verdict, [*radios, dataset_rows], [verdict, banner], show_progress="hidden")
    return ChecklistStep(verdict=verdict, radios=tuple(radios))
