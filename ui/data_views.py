"""HTML for the Data step. Every piece of user text goes through ``html.escape``; nothing here computes."""

from __future__ import annotations

import json
from html import escape

from core.data.formats import FORMAT_LABELS
from core.data.limits import PREVIEW_ROW_CHARS, clip_strings, clip_text
from core.data.report import ERROR, ValidationReport
from core.data.wizard import DataCheck, DataDraft
from core.glossary import explain_terms_html
from core.sources import source_html

CELL_CHARS = 240  # a table cell shows this much; the rest is cut and counted so one long row can't fill the page
SHOWN_COLUMNS = 20  # columns in the table of first rows; the others are named in the note under it
_SEVERITY_COLOURS = {ERROR: "#b91c1c", "warning": "#b45309"}


def _cut(value: object, limit: int = CELL_CHARS) -> str:
    """A cell's text, at most ``limit`` characters (+ the count of the rest): a 50 MB cell is never sent whole."""
    text = value if isinstance(value, str) else json.dumps(clip_strings(value, limit), ensure_ascii=False)
    return clip_text(text, limit)


def render_message(text: str, kind: str = "error") -> str:
    """A coloured box for a load error (kind "error"), load warnings ("warning") or a confirmation ("ok")."""
    if not text:
        return ""
    colour = {"error": "#b91c1c", "warning": "#b45309", "ok": "#15803d"}[kind]
    return (
        f"<div class='coach-card coach-message' style='border-left:6px solid {colour}' role='status'>"
        f"{escape(text)}</div>"
    )


def render_detection(draft: DataDraft) -> str:
    """Where the rows came from, what format they have and how sure the detection is."""
    loaded, detection = draft.loaded, draft.detection
    share = round(detection.confidence * 100)
    warnings = "".join(f"<li>{escape(w)}</li>" for w in loaded.warnings[:5])
    if len(loaded.warnings) > 5:
        warnings += f"<li>… and {len(loaded.warnings) - 5:,} more (all are in the downloadable report).</li>"
    documents = ""
    if draft.packed:
        from core.data.documents import describe_documents

        documents = f"<p id='documents-shape' style='margin:4px 0 0 0'><b>{escape(describe_documents(loaded))}</b></p>"
    return (
        "<div class='coach-card'>"
        f"<div><b>{escape(loaded.source)}</b> · {loaded.n_rows:,} rows · columns: "
        f"{escape(clip_text(', '.join(map(str, loaded.columns)), 1_000) or '(none)')}</div>"
        f"<div style='margin:8px 0 4px 0'>Format: <b>{escape(FORMAT_LABELS[detection.format])}</b> · "
        f"<span id='detect-confidence'>{share}% of the sampled rows have this shape</span></div>"
        f"<div class='coach-bar' title='{share}%'><div style='width:{share}%'></div></div>"
        f"<p style='margin:8px 0 0 0'>{escape(detection.explanation)}</p>"
        f"{documents}"
        f"{f'<ul class=coach-warnings>{warnings}</ul>' if warnings else ''}{render_columns(draft)}</div>"
    )


_FATE_STYLE = {
    "used": ("#15803d", "used"),
    "ignored": ("#6b7280", "ignored"),
    "blocking": ("#b91c1c", "leaves rows out"),
}


def render_columns(draft: DataDraft) -> str:
    """Every column and what becomes of it (core/data/columns.py), so nothing disappears without a word."""
    from core.data.columns import account_columns, columns_summary

    fates = account_columns(draft)
    if not fates:
        return ""
    rows = "".join(
        f"<tr data-fate='{fate.fate}'><td><code>{escape(clip_text(fate.column, 80))}</code></td>"
        f"<td style='color:{_FATE_STYLE[fate.fate][0]};white-space:nowrap'><b>{_FATE_STYLE[fate.fate][1]}</b></td>"
        f"<td>{escape(fate.detail)}{f' <i>{escape(fate.action)}</i>' if fate.action else ''}</td></tr>"
        for fate in fates[: SHOWN_COLUMNS * 2]
    )
    more = len(fates) - SHOWN_COLUMNS * 2
    more_row = (
        f"<tr><td colspan=3 class='coach-muted'>… and {more:,} more columns, ignored.</td></tr>" if more > 0 else ""
    )
    return (
        f"<details open id='column-fates' style='margin-top:8px'><summary><b>Every column:</b> "
        f"{escape(columns_summary(fates))}</summary><table class='coach-columns'><thead><tr><th>column</th>"
        f"<th>becomes</th><th>what and why</th></tr></thead><tbody>{rows}{more_row}</tbody></table></details>"
    )


def render_rows_table(rows: list[dict], columns: list[str], title: str) -> str:
    """The first rows as a table, one column per field (the first ``SHOWN_COLUMNS``), long cells cut."""
    if not rows:
        return "<p class='coach-muted'>No rows to show.</p>"
    shown, hidden = columns[:SHOWN_COLUMNS], len(columns) - SHOWN_COLUMNS
    head = "".join(f"<th>{escape(_cut(str(c), 80))}</th>" for c in shown)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cut(row.get(c, '')))}</td>" for c in shown) + "</tr>" for row in rows
    )
    more = f"<p class='coach-muted'>… and {hidden:,} more columns, not shown here.</p>" if hidden > 0 else ""
    return (
        f"<div class='coach-samples'><p style='margin:4px 0'><b>{escape(title)}</b></p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</div>"
    )


def render_converted_rows(draft: DataDraft, n: int = 2) -> str:
    """The first converted rows as JSON: what will be written to train.jsonl, long texts cut for the page."""
    if draft.conversion is None:
        return "<p class='coach-muted'>Pick the prompt and answer columns to see the converted rows.</p>"
    shown = [(i, r) for i, r in enumerate(draft.conversion.rows) if r is not None][:n]
    blocks = "".join(
        f"<div style='margin-bottom:6px'><small class='coach-muted'>Row {i + 1:,}</small>"
        f"<pre style='white-space:pre-wrap;word-break:break-word;margin:2px 0'>"
        f"{escape(clip_text(json.dumps(clip_strings(row), ensure_ascii=False), PREVIEW_ROW_CHARS))}</pre></div>"
        for i, row in shown
    )
    notes = "".join(f"<li>{escape(note)}</li>" for note in draft.conversion.notes)
    return (
        f"<div class='coach-card' id='mapped-rows'><p style='margin:0 0 6px 0'>{escape(draft.conversion.summary())}"
        f"</p>{f'<ul>{notes}</ul>' if notes else ''}{blocks}</div>"
    )


def render_report(report: ValidationReport | None, pending: bool = False) -> str:
    """The sentence "N rows will be trained; M left out because ...", then each problem with its first rows."""
    if report is None:
        return "<p class='coach-muted'>The rows are checked once the columns are mapped.</p>"
    colour = "#b91c1c" if report.n_left_out else "#15803d"
    parts = [
        f"<div class='coach-card' style='border-left:6px solid {colour}'>"
        f"<p id='validation-summary' style='margin:0'><b>{escape(report.summary())}</b></p>"
    ]
    if pending:
        parts.append("<p class='coach-muted'>Checking with the model's chat template and measuring lengths…</p>")
    for note in report.notes if not pending else []:
        parts.append(f"<p class='coach-muted'>{escape(note)}</p>")
    for section in report.sections():
        colour = _SEVERITY_COLOURS.get(section["severity"], "#374151")
        verdict = "left out" if section["severity"] == ERROR else "trained, worth a look"
        examples = "".join(f"<li>{escape(e)}</li>" for e in section["examples"])
        more = section["rows"] - len(section["examples"])
        more_text = f"<li class='coach-muted'>… {more:,} more in the full report.</li>" if more > 0 else ""
        parts.append(
            f"<details {'open' if section['severity'] == ERROR else ''} style='margin-top:6px'>"
            f"<summary style='color:{colour}'><b>{escape(section['title'])}</b>: {section['rows']:,} rows "
            f"({verdict})</summary><ul>{examples}{more_text}</ul></details>"
        )
    parts.append("</div>")
    return "".join(parts)


def render_lengths(check: DataCheck | None) -> str:
    """p50/p95/p99, the recommended max length with its reason and source, and what truncation will do."""
    if check is None or check.stats is None or not check.stats.n:
        return "<p class='coach-muted'>Token lengths are measured with the model's tokenizer.</p>"
    stats = check.stats
    cells = "".join(
        f"<td style='padding-right:40px'><small>{name}</small><br><b>{value:,}</b></td>"
        for name, value in (
            ("median (p50)", stats.p50),
            ("p95", stats.p95),
            ("p99", stats.p99),
            ("longest", stats.max),
        )
    )
    table = f"<table class='coach-stats' style='width:auto;margin-top:0'><tr>{cells}</tr></table>"
    if check.draft.packed:
        return (
            f"<div class='coach-card' id='length-summary'><p style='margin:0 0 4px 0'>Tokens per document:</p>{table}"
            f"<p style='margin:8px 0 4px 0'>Recommended block size: <b>{check.recommended_max_length:,} tokens</b>. "
            f"{escape(check.recommendation_reason)} <small class='coach-muted'>(Pretraining mode: block_size 2048 "
            f"to start, 512 for short documents {source_html('training_hub_sft')}.)</small></p>"
            f"<p id='truncation-summary' style='margin:4px 0 0 0'>Blocks of <b>{check.max_length:,}</b> tokens: "
            f"{escape(check.truncation_message)}</p></div>"
        )
    return (
        "<div class='coach-card' id='length-summary'>"
        f"{table}"
        f"<p style='margin:8px 0 4px 0'>Recommended max length: <b>{check.recommended_max_length:,} tokens</b>. "
        f"{escape(check.recommendation_reason)} <small class='coach-muted'>(Rule: pick the max length from the "
        "95th or 99th percentile of tokenized lengths, among 512 / 1024 / 2048 / 4096 "
        f"{source_html('training_hub')}.)</small></p>"
        f"<p id='truncation-summary' style='margin:4px 0 0 0'>At <b>{check.max_length:,}</b>: "
        f"{escape(check.truncation_message)}</p></div>"
    )


def render_loss_advice(target_format: str, advice, packed_block: int | None = None) -> str:
    """Which tokens carry loss for this format, and whether 'assistant turns only' would work with this template.

    ``packed_block``: the block size when the rows are documents packed into blocks (core/data/documents.py).
    """
    from core.data.documents import plain_text_loss
    from core.data.formats import MESSAGES
    from core.data.preview import loss_explanation

    if packed_block:
        return (
            f"<div class='coach-card' id='loss-advice'><p style='margin:0'><b>Loss:</b> "
            f'{escape(plain_text_loss(packed_block))} As in pre-training: Training Hub\'s "pretraining mode" '
            f"{source_html('training_hub_sft')}; TRL trains it with packing {source_html('trl_sft')}.</p></div>"
        )
    seen: set[str] = set()  # each term explained on hover once in the card
    loss = explain_terms_html(loss_explanation(target_format), seen)
    parts = [f"<p style='margin:0 0 4px 0'><b>Loss:</b> {loss} {source_html('trl_sft')}</p>"]
    if advice is not None and target_format == MESSAGES:
        options = "".join(f"<li>{explain_terms_html(option, seen)}</li>" for option in advice.options)
        explanation = explain_terms_html(advice.explanation, seen)
        parts.append(
            f"<p style='margin:4px 0'><b>Loss on the assistant's turns only?</b> {explanation}</p>"
            f"{f'<ul>{options}</ul>' if options else ''}"
        )
    elif advice is not None:
        parts.append(
            "<p class='coach-muted' style='margin:4px 0'>Loss on the assistant's turns only "
            f"({explain_terms_html('assistant_only_loss', seen)}) is not needed here. For 'messages' data with this "
            f"model: {explain_terms_html(advice.explanation, seen)}</p>"
        )
    return "<div class='coach-card' id='loss-advice'>" + "".join(parts) + "</div>"


def render_in_use(dataset: str, max_length: int, rows: int | None = None, packing: bool = False) -> str:
    """What the Train step will use right now."""
    from core.demo_data import DEMO_DATASETS

    what = f"built-in demo '{DEMO_DATASETS[dataset].title}'" if dataset in DEMO_DATASETS else dataset
    counted = f", {rows:,} training rows" if rows else ""
    return (
        f"<div class='coach-card' id='dataset-in-use'>Training will use: <b>{escape(what)}</b>{counted}, "
        f"{f'packed into blocks of {max_length:,} tokens' if packing else f'max length {max_length:,} tokens'}.</div>"
    )
