"""HTML for the Train step: the status card, the samples timeline, the diagnosis and the result.

Every piece of user or model text goes through ``html.escape``.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path

from core.diagnosis.facts import LossFacts, run_facts
from core.diagnosis.validation import no_point_yet
from core.glossary import explain_terms_html
from core.runs.names import distinct_names, readable_run_name
from core.runs.progress import format_duration, measure_progress
from core.runs.record import RunSnapshot, RunSummary
from core.runs.store import RunFolder
from core.sample_copy import COPY_DTYPE, SAMPLE_PRECISION_NOTE
from core.sources import link_sources_html

PHASE_LABELS = {
    "queued": ("Waiting", "#6b7280"),
    "preparing": ("Preparing", "#2563eb"),
    "training": ("Training", "#2563eb"),
    "stopping": ("Stopping", "#d97706"),
    "finished": ("Finished", "#16a34a"),
    "failed": ("Failed", "#dc2626"),
    "stopped": ("Stopped", "#d97706"),
    "interrupted": ("Interrupted", "#d97706"),
    "cancelled": ("Cancelled", "#6b7280"),
}
DIAGNOSIS_COLOURS = {
    "too_early": "#6b7280",
    "healthy": "#16a34a",
    "overfitting": "#d97706",
    "underfitting": "#d97706",
    "memorisation": "#d97706",
    "unstable": "#dc2626",
    "broken": "#dc2626",
}


def _validation_cell(facts: LossFacts) -> str:
    """The latest validation loss, or "—" with why there is none (the diagnosis says the same, in full)."""
    if facts.latest_eval:
        return f"<b>{facts.latest_eval[1]:.3f}</b> <small>(step {facts.latest_eval[0]:g})</small>"
    if facts.context.validation_split is False:
        why = "no validation rows"
    elif facts.context.eval_every == 0:
        why = "off"
    else:
        why = f"first at step {facts.next_eval_step}" if facts.next_eval_step else ""
    return "<b>—</b>" + (f" <small title='{html.escape(no_point_yet(facts))}'>({why})</small>" if why else "")


@dataclass(frozen=True)
class WorkshopLines:
    """What the status card says of the workshop: the wait in line, the capped steps, the person's time left."""

    wait: str = ""
    notice: str = ""
    allowance: str = ""


def render_status(
    snapshot: RunSnapshot | None,
    queue_length: int = 0,
    facts: LossFacts | None = None,
    job: dict | None = None,
    workshop: WorkshopLines | None = None,
) -> str:
    """The status card: phase, message, progress bar and the numbers that matter.

    The losses come from ``facts`` (core/diagnosis/facts.py), the numbers the diagnosis quotes; computed from the
    snapshot when not given. ``job``: the Hugging Face Job of a remote run (core/runs/remote.py), named with its
    last log lines. ``workshop``: the wait in line, the capped steps and the time left (workshop mode).
    """
    workshop = workshop or WorkshopLines()
    allowance = (
        f"<p class='coach-muted' id='workshop-allowance'>{html.escape(workshop.allowance)}</p>"
        if workshop.allowance
        else ""
    )
    if snapshot is None:
        waiting = f" {queue_length} run(s) are waiting for the trainer." if queue_length else ""
        return (
            "<div class='coach-card'><b>No run yet.</b> Check <i>What will be trained</i>, then press "
            f"<b>Start training</b>. The first loss values appear within a minute.{waiting}{allowance}</div>"
        )
    label, colour = PHASE_LABELS.get(snapshot.phase, (snapshot.phase, "#6b7280"))
    progress = measure_progress(snapshot)
    facts = facts or run_facts(snapshot)
    percent = int(progress.fraction * 100)
    loss = "—" if facts.latest is None else f"{facts.latest[1]:.3f}"
    first = "" if facts.first is None else f" <small>(from {facts.first[1]:.3f})</small>"
    speed = "—" if progress.tokens_per_second is None else f"{progress.tokens_per_second:,.0f}"
    step_time = "—" if progress.seconds_per_step is None else f"{progress.seconds_per_step:.2f} s"
    total = progress.total_steps or snapshot.config.get("max_steps") or "?"
    # the picker in the narrow side column cuts long names; the card says the whole one
    name = readable_run_name(
        snapshot.config.get("dataset", ""), snapshot.config.get("model_id", ""), snapshot.created_at
    )
    live = snapshot.is_active and snapshot.phase != "queued"
    elapsed = format_duration(progress.elapsed_seconds)
    if live and snapshot.started_at is not None:  # the page counts on between redraws (ui/style.py TICKER_JS)
        elapsed = f"<span data-coach-since='{progress.elapsed_seconds:.1f}'>{elapsed}</span>"
    doing = ""
    if live and snapshot.activity_since is not None:
        since = max(0.0, time.time() - snapshot.activity_since)
        doing = (
            f" <small class='coach-muted' title='How long this has taken so far'>(<span id='activity-elapsed' "
            f"data-coach-since='{since:.1f}'>{format_duration(since)}</span>)</small>"
        )
    queue = ""
    if snapshot.queue_position:
        wait = f" <span id='queue-wait'>{html.escape(workshop.wait)}</span>" if workshop.wait else ""
        queue = (
            f"<p><b>Place in line: {snapshot.queue_position}.</b>{wait} One run trains at a time; yours starts "
            "when the ones before it end. You can cancel it.</p>"
        )
    if workshop.notice:
        queue += f"<p class='coach-muted' id='steps-capped'>{html.escape(workshop.notice)}</p>"
    return f"""
<div class='coach-card'>
  <div><span class='coach-badge' style='background:{colour}'>{label}</span>
       <b>{html.escape(name)}</b> <span class='coach-run-id' title='run id'>{html.escape(snapshot.run_id)}</span></div>
  <p class='coach-message'>{html.escape(snapshot.message)}{doing}</p>{queue}
  <div class='coach-bar' role='progressbar' aria-label='Training progress' aria-valuenow='{percent}'
       aria-valuemin='0' aria-valuemax='100'><div style='width:{percent}%'></div></div>
  <table class='coach-stats'><tr>
    <td><small>Step</small><br><b id='coach-step'>{progress.step} / {total}</b></td>
    <td><small>Training loss</small><br><b>{loss}</b>{first}</td>
    <td><small>Validation loss</small><br>{_validation_cell(facts)}</td>
    <td><small>Elapsed</small><br><b id='coach-elapsed'>{elapsed}</b></td>
    <td><small>Time left</small><br><b>{format_duration(progress.eta_seconds)}</b></td>
    <td><small>Tokens / s</small><br><b>{speed}</b></td>
    <td><small>Per step</small><br><b>{step_time}</b></td>
  </tr></table>{render_job(job)}{allowance}
</div>"""


def render_job(job: dict | None) -> str:
    """Where a remote run trains: the machine, the Job's page, its last log lines."""
    if not job:
        return ""
    url = html.escape(str(job.get("url", "")), quote=True)
    lines = html.escape("\n".join(job.get("log") or ["(no log lines yet)"]))
    return (
        f"<p class='coach-remote' id='job-info'>On Hugging Face Jobs · {html.escape(str(job.get('flavor', '?')))} · "
        f"<a href='{url}' target='_blank' rel='noopener'>Job {html.escape(str(job.get('job_id', '')))}</a></p>"
        f"<details open><summary>The Job's log</summary><pre id='job-logs'>{lines}</pre></details>"
    )


def render_samples(snapshot: RunSnapshot | None) -> str:
    """Probe answers, newest step first, one column per held-out prompt; changed answers are marked."""
    if snapshot is None or not snapshot.samples:
        return (
            "<p class='coach-muted'>Answers to held-out prompts appear here at step 0 and then every few steps, "
            "so you can see the model change.</p>"
        )
    prompts = snapshot.samples[0]["prompts"]
    head = "".join(f"<th scope='col'>{html.escape(p)}</th>" for p in prompts)
    rows = []
    references = [p.get("reference", "") for p in snapshot.probes]
    if any(references):
        own = "<td><small>your prompt: no expected answer</small></td>"
        cells = "".join(f"<td><code>{html.escape(r)}</code></td>" if r else own for r in references[: len(prompts)])
        rows.append(
            f"<tr class='coach-expected'><th scope='row'>Expected<br><small>from the data</small></th>{cells}</tr>"
        )
    entries = snapshot.samples
    precision = f" {SAMPLE_PRECISION_NOTE}" if any(e.get("dtype") == COPY_DTYPE for e in entries) else ""
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        before = entries[index - 1]["answers"] if index else [None] * len(entry["answers"])
        cells = []
        for answer, previous in zip(entry["answers"], before, strict=False):
            changed = previous is not None and answer != previous
            text = html.escape(answer) if answer else "<i>(empty)</i>"
            cells.append(f"<td class='{'coach-changed' if changed else ''}'>{text}</td>")
        took = f"{entry['seconds']:.1f} s to generate"
        if not entry["seconds"] and entry["step"] == 0:
            took = "the base model's answers, computed before Start"  # by the head start or an earlier run
        rows.append(f"<tr><th scope='row'>Step {entry['step']}<br><small>{took}</small></th>{''.join(cells)}</tr>")
    return (
        "<div class='coach-samples'><table><thead><tr><th scope='col'>When</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "<small class='coach-muted'>Greedy decoding, so a changed answer comes from the new weights. "
        f"Highlighted: changed since the previous row.{precision}</small></div>"
    )


def render_chart_guide(charts: list[tuple[str, str, str]]) -> str:
    """One line per chart that has one: what good looks like (core/glossary.CHART_GUIDE), terms explained on hover."""
    from core.glossary import CHART_GUIDE, GLOSSARY

    words = {"grad_norm": "gradient norm", "entropy": "entropy", "mean_token_accuracy": "token accuracy"}
    rows = []
    for key, title, _ in charts:
        if key in CHART_GUIDE:
            term = words.get(key)
            name = (
                f"<abbr title='{html.escape(GLOSSARY[term], quote=True)}'>{html.escape(title)}</abbr>"
                if term
                else html.escape(title)
            )
            rows.append(f"<li><b>{name}</b>: {html.escape(CHART_GUIDE[key])}</li>")
    return f"<ul class='coach-muted' id='chart-guide' style='margin:4px 0'>{''.join(rows)}</ul>"


def render_diagnosis(diagnosis) -> str:
    """The plain-language reading of the curves (core/diagnosis/)."""
    if diagnosis is None:
        return ""
    colour = DIAGNOSIS_COLOURS.get(diagnosis.status, "#6b7280")
    seen: set[str] = set()  # each term explained on hover once in the card
    explanation = explain_terms_html(diagnosis.explanation, seen)
    advice = "".join(f"<li>{explain_terms_html(a, seen)}</li>" for a in diagnosis.advice)
    return (
        f"<div class='coach-card' style='border-left: 6px solid {colour}'>"
        f"<b>{html.escape(diagnosis.title)}</b><p>{explanation}</p>"
        f"{f'<ul>{advice}</ul>' if advice else ''}"
        f"<small class='coach-muted'>Source: {link_sources_html(diagnosis.source)}</small></div>"
    )


def render_result(snapshot: RunSnapshot | None, dashboard: str) -> str:
    """What happened at the end: where the result is, that it loads, and where to compare runs (``dashboard``: the
    link to the person's own trackio dashboard, ui/trackio_mount.py)."""
    if snapshot is None or snapshot.is_active:
        return ""
    parts = []
    if snapshot.phase == "failed":
        parts.append(f"<p><b>Training failed.</b> {html.escape(snapshot.error or '')}</p>")
        if snapshot.error_detail:
            detail = html.escape(snapshot.error_detail[-4000:])
            parts.append(f"<details><summary>Technical details</summary><pre>{detail}</pre></details>")
    if snapshot.result_dir:
        parts.append(f"<p><b>Saved to</b> <code>{html.escape(snapshot.result_dir)}</code></p>")
    if snapshot.best_checkpoint:
        parts.append(
            f"<p><b>Best checkpoint</b> (lowest validation loss): "
            f"<code>{html.escape(snapshot.best_checkpoint)}</code></p>"
        )
    if snapshot.load_check:
        parts.append(f"<p><b>Load check:</b> {html.escape(snapshot.load_check)}</p>")
    parts.append(render_time_taken(snapshot))
    parts.append(render_checkpoints(Path(snapshot.run_dir), snapshot.best_checkpoint))
    parts.append(render_trackio_link(dashboard))
    return "<div class='coach-card'>" + "".join(parts) + "</div>"


def render_trackio_link(dashboard: str) -> str:
    """A link to the person's trackio dashboard (a new tab): their runs side by side, nobody else's."""
    return (
        "<p><b>Compare your runs in trackio:</b> every run you train here logs to a trackio project of your own. "
        f"<a href='{html.escape(dashboard, quote=True)}' target='_blank' rel='noopener' class='coach-trackio'>"
        "Open your trackio dashboard</a> (only your runs; nobody else sees them).</p>"
    )


def render_time_taken(snapshot: RunSnapshot) -> str:
    """What the run took from Start, by part, beside what was estimated when it started (core/run_time.py)."""
    from core.run_time import actual_parts

    taken = actual_parts(snapshot)
    if taken is None:
        return ""
    total, parts = taken
    text = f"<b>Took {format_duration(total)}</b> from Start: " + " · ".join(
        f"{html.escape(name)} {format_duration(seconds)}" for name, seconds in parts
    )
    estimate = RunFolder(Path(snapshot.run_dir)).read_estimate()
    if estimate and estimate.get("total_seconds"):
        expected = float(estimate["total_seconds"])
        ratio = total / expected if expected else 0
        text += f". Estimated at Start: {format_duration(expected)}"
        if ratio > 1.5 or ratio < 0.67:
            busy = (
                " (a busy machine, or a first run that converted the model, is the usual reason)" if ratio > 1 else ""
            )
            text += f", {ratio:.1f}× {'longer' if ratio > 1 else 'shorter'}{busy}"
        text += "; the next estimate uses what this run measured."
    return f"<p id='time-taken'>{text}</p>"


def render_checkpoints(run_dir: Path, best: str | None = None) -> str:
    """The run's checkpoints with their step and validation loss; partial ones (a crash mid-save) are marked."""
    checkpoints = RunFolder(run_dir).checkpoints()
    if not checkpoints:
        return ""
    rows = []
    for checkpoint in reversed(checkpoints):
        loss = f"{checkpoint.eval_loss:.4f}" if checkpoint.eval_loss is not None else "—"
        note = "best" if best and Path(best).name == checkpoint.path.name else ""
        if not checkpoint.complete:
            note = "incomplete: skipped when resuming"
        rows.append(
            f"<tr><td>{checkpoint.step}</td><td>{loss}</td><td>{html.escape(note)}</td>"
            f"<td><code>{html.escape(str(checkpoint.path))}</code></td></tr>"
        )
    return (
        "<details><summary><b>Checkpoints</b> "
        f"({len(checkpoints)}; chat with any of them in 5 · Try it, resume from the newest complete one)</summary>"
        "<table class='coach-samples'><tr><th scope='col'>Step</th><th scope='col'>Validation loss</th>"
        "<th scope='col'></th><th scope='col'>Folder</th></tr>" + "".join(rows) + "</table></details>"
    )


def run_label(run: RunSummary, remote: bool = False) -> str:
    """One line for the run picker: the run's readable name (dataset · model · start time) and its phase;
    ``remote``: it trains on Hugging Face Jobs."""
    label, _ = PHASE_LABELS.get(run.phase, (run.phase, ""))
    where = "HF Jobs · " if remote else ""
    return f"{where}{readable_run_name(run.dataset, run.model_id, run.created_at)} · {label}"


def run_choices(runs: list[RunSummary], remote: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(label, run id) for a run picker; two runs of the same data and model started the same minute get a number.

    The run id stays the value: the page sends it back and the server checks it is the person's run. ``remote``:
    the ids of runs on Hugging Face Jobs.
    """
    labels = [run_label(run, run.run_id in remote) for run in runs]
    return list(zip(distinct_names(labels), [run.run_id for run in runs], strict=True))
