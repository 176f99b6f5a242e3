"""What the Try it step shows: model picker entries, answers, the blind-test reveal, scores.

Small pure functions from core's plain data to choices and HTML; every piece
of user or model text goes through ``html.escape``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from core.ab_test import ABRound, ABTally
from core.chat import GenerationSettings
from core.evaluate import METRIC_NAMES, BeforeAfter
from core.models.refs import ModelRef

THINKING_CHOICES = [("Model default", "default"), ("Think (/think)", "think"), ("No thinking (/no_think)", "no_think")]
ANSWER_STYLE = (
    "white-space: pre-wrap; margin: 8px 0; font-family: var(--font-mono); font-size: 0.9em; "
    "max-height: 28em; overflow-y: auto; overflow-wrap: anywhere"
)
# Equal columns; a long answer scrolls inside its cell instead of stretching the whole table.
CELL_STYLE = "max-height: 14em; overflow-y: auto; overflow-wrap: anywhere"
VOTE_LABELS = {"A": "A is better", "B": "B is better", "tie": "Tie", "both_bad": "Both bad"}


@dataclass(frozen=True)
class TrainedPrompt:
    """The system prompt a picked run's model was trained with (looked up on the server for its owner only)."""

    ref: str
    """The picked model (a run's result or checkpoint) it was looked up for."""
    run_name: str
    system_prompt: str
    """"" when the run's rows had no system prompt in common."""


def picker_choices(refs: list[ModelRef]) -> list[tuple[str, str]]:
    """(label, ref) pairs for a gradio Dropdown."""
    return [(ref.label, ref.ref) for ref in refs]


def default_chat_ref(refs: list[ModelRef]) -> str | None:
    """What Chat preselects: the newest result of a run that has stopped training, else the first base model.

    A run that trains again (resumed) still holds its earlier result: it is listed, never preselected.
    """
    finals = [ref.ref for ref in refs if ref.kind == "final" and not ref.training]
    return finals[0] if finals else (refs[0].ref if refs else None)


def keep_or_default(current: str | None, default: str | None) -> str | None:
    """A picker's value after a refresh: what the person picked or typed (a folder, a Hub id) stays.

    >>> keep_or_default("typed/model", "a"), keep_or_default(None, "a")
    ('typed/model', 'a')
    """
    return current if current else default


def run_id_of(ref: str | None, refs: list[ModelRef]) -> str | None:
    """The run a picked model comes from (its result or a checkpoint), or None for a base model or a typed one."""
    return next((r.run_id for r in refs if r.ref == ref and r.run_id), None)


def settings_from_inputs(
    system_prompt: str,
    temperature: float,
    top_p: float,
    max_new_tokens: float,
    repetition_penalty: float,
    seed: float | None,
    deterministic: bool,
    thinking: str,
) -> GenerationSettings:
    """The page's sampling controls as ``GenerationSettings`` (raises ChatError naming a bad value).

    >>> settings_from_inputs("", 0.6, 0.95, 64, 1.0, None, True, "default").seed is None
    True
    """
    return GenerationSettings(
        temperature=float(temperature),
        top_p=float(top_p),
        max_new_tokens=int(max_new_tokens),
        repetition_penalty=float(repetition_penalty),
        seed=None if seed is None or seed == "" else int(seed),
        deterministic=bool(deterministic),
        system_prompt=system_prompt or "",
        thinking=None if thinking in (None, "", "default") else thinking,
    )


def prompt_after_pick(trained: TrainedPrompt | None, shown_for: TrainedPrompt | None, current: str) -> str:
    """What the system prompt box holds once a model is picked.

    A run's model newly picked brings the prompt its run trained with; the same model again keeps what the person
    typed or cleared; a base model or a typed one leaves the box alone.

    >>> run = TrainedPrompt("/r/final", "demo · m · 14:05", "Be JSON.")
    >>> prompt_after_pick(run, None, ""), prompt_after_pick(run, run, "mine"), prompt_after_pick(None, run, "mine")
    ('Be JSON.', 'mine', 'mine')
    """
    if trained is None or not trained.system_prompt:
        return current
    if shown_for is not None and shown_for.ref == trained.ref:
        return current
    return trained.system_prompt


def _quoted(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")


def system_prompt_note(trained: TrainedPrompt | None, current: str) -> str:
    """The line under the system prompt box: whether it is the one the picked run was trained with.

    >>> run = TrainedPrompt("/r/final", "demo · m · 14:05", "Be JSON.")
    >>> "answers without it may not follow the format" in system_prompt_note(run, "")
    True
    >>> system_prompt_note(None, "anything")
    ''
    """
    if trained is None or not trained.system_prompt:
        return ""
    name, prompt = html.escape(trained.run_name), _quoted(trained.system_prompt)
    if (current or "").strip() == trained.system_prompt.strip():
        return (
            f"<p class='coach-muted' id='system-prompt-matches'>✓ The system prompt run <b>{name}</b> was trained "
            "with. In Side by side and Blind A/B both models get it, the base model too: a fair comparison.</p>"
        )
    without = "without it" if not (current or "").strip() else "with another one"
    return (
        f"<div class='coach-card' role='status' id='system-prompt-differs'>⚠ This run was trained with the system "
        f"prompt “{prompt}”; answers {without} may not follow the format. Press <b>Use the run's system prompt</b> "
        "to put it back.</div>"
    )


def comparison_note(settings: GenerationSettings, trained: TrainedPrompt | None) -> str:
    """Under both answers of a comparison: what was the same on both sides, the system prompt included.

    >>> comparison_note(GenerationSettings(deterministic=True, max_new_tokens=64), None)
    'Same settings on both sides: greedy, at most 64 new tokens, no system prompt.'
    """
    how = "greedy" if settings.deterministic else f"seed {settings.seed}, temperature {settings.temperature:g}"
    note = f"Same settings on both sides: {how}, at most {settings.max_new_tokens} new tokens"
    prompt = settings.system_prompt.strip()
    if not prompt:
        return note + ", no system prompt."
    if trained is not None and prompt == trained.system_prompt.strip():
        return note + f", and the system prompt run {trained.run_name} was trained with, for both models alike."
    return note + ", and the same system prompt."


def chat_display(history: list[dict]) -> list[dict]:
    """The conversation for ``gr.Chatbot``, escaped: a model's ``<think>`` or HTML shows as text, never as markup."""
    return [{"role": m["role"], "content": html.escape(m["content"]) or "<i>(empty answer)</i>"} for m in history]


def render_answer(title: str, text: str | None, note: str = "") -> str:
    """One column of a comparison: a heading, the answer as plain text, an optional note under it."""
    body = (
        f"<div style='{ANSWER_STYLE}'>{html.escape(text)}</div>"
        if text
        else f"<div class='coach-muted' style='{ANSWER_STYLE}'>(no answer yet)</div>"
    )
    extra = f"<small class='coach-muted'>{html.escape(note)}</small>" if note else ""
    return f"<div class='coach-card'><b>{html.escape(title)}</b>{body}{extra}</div>"


def render_reveal(round_: ABRound, vote: str, names: dict[str, str], saved_in: str | None) -> str:
    """After a vote: which model was behind A and B, and where the vote was saved."""
    rows = "".join(
        f"<li><b>{letter}</b> was {html.escape(names.get(ref, ref))}</li>"
        for letter, ref in (("A", round_.model_a), ("B", round_.model_b))
    )
    where = (
        f"Saved with run <code>{html.escape(saved_in)}</code>."
        if saved_in
        else "Not saved: neither model comes from one of your runs."
    )
    return (
        f"<div class='coach-card'><b>Your vote: {html.escape(VOTE_LABELS.get(vote, vote))}.</b>"
        f"<ul>{rows}</ul><small class='coach-muted'>{where}</small></div>"
    )


def render_tally(run_id: str | None, result: ABTally | None, names: dict[str, str]) -> str:
    """The blind-test score of a run, as a sentence."""
    if run_id is None or result is None:
        return "<p class='coach-muted'>Votes are saved with the run of the fine-tuned model you compare.</p>"
    return (
        f"<div class='coach-card' id='ab-tally-card'><b>Run {html.escape(run_id)}</b>: "
        f"{html.escape(result.summary(names))}</div>"
    )


def render_scores(result: BeforeAfter | None) -> str:
    """Before-vs-after scores as a table, with a few example answers for the demo tasks."""
    if result is None:
        return "<p class='coach-muted'>No scores for this run yet: press <b>Score before vs after</b>.</p>"
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in result.lines())
    how = (
        f"Greedy answers to the first {result.n} held-out rows of <code>{html.escape(result.dataset)}</code>, "
        "scored automatically."
        if result.kind == "task_scores"
        else f"Loss on the answer tokens of {result.n} held-out rows (lower is better; perplexity = e^loss)."
    )
    rows = []
    for key, before in result.before.items():
        if key in METRIC_NAMES and key in result.after:
            fmt = "{:.3f}" if key in ("loss", "perplexity") else "{:.0%}"
            rows.append(
                f"<tr><td>{html.escape(METRIC_NAMES[key])}</td><td>{fmt.format(before)}</td>"
                f"<td>{fmt.format(result.after[key])}</td></tr>"
            )
    table = (
        "<table><thead><tr><th>metric</th><th>base model</th><th>fine-tuned</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    examples = ""
    if result.examples:
        cells = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(str(e.get(k, '')))}</td>" for k in ("prompt", "reference", "before", "after"))
            + "</tr>"
            for e in result.examples
        )
        examples = (
            "<details><summary>Example answers</summary><table><thead><tr><th>prompt</th><th>expected</th>"
            f"<th>base model</th><th>fine-tuned</th></tr></thead><tbody>{cells}</tbody></table></details>"
        )
    return (
        f"<div class='coach-card coach-samples' id='scores-card'><p>{how}</p>{table}<ul>{lines}</ul>{examples}"
        f"<small class='coach-muted'>Took {result.seconds:.0f} s. Saved as evaluation.json in the run folder; "
        "the model card shows it.</small></div>"
    )


def render_probe_table(table: list[dict[str, str]]) -> str:
    """A probe set's answers: one row per prompt, the expected answer and one column per model.

    >>> "&lt;b&gt;" in render_probe_table([{"prompt": "<b>", "reference": "", "base": "x"}])
    True
    """
    if not table:
        return "<p class='coach-muted'>Run a probe set to see every model's answer to every prompt here.</p>"
    columns = list(table[0])
    head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in columns)

    def cell(value: str) -> str:
        text = str(value)
        # A model that answers only with spaces or new lines would look like a missing answer otherwise.
        shown = html.escape(text) if text.strip() or not text else "<i class='coach-muted'>(blank answer)</i>"
        return f"<td><div style='{CELL_STYLE}'>{shown}</div></td>"

    body = "".join("<tr>" + "".join(cell(row.get(c, "")) for c in columns) + "</tr>" for row in table)
    return (
        "<div class='coach-samples'><table style='table-layout: fixed'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )
