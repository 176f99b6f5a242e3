"""Show exactly what the trainer will train on: rows rendered and tokenized by TRL's own code, loss tokens marked.

``prepare_like_trainer`` runs ``SFTTrainer._prepare_dataset`` from TRL 1.16
itself (chat template, EOS handling, tokenization, ``completion_mask`` /
``assistant_masks`` folded into ``labels``, truncation, dropping rows left with
no loss) on a lightweight stand-in for the trainer that holds only the three
attributes that method reads. The trainer's collator pads but never changes a
label, so ``labels != -100`` are exactly the tokens that carry loss
(tests/test_data_preview.py checks this against a real ``SFTTrainer``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

from core.data.errors import DataError
from core.data.formats import CONVERSATIONAL_FORMATS, MESSAGES
from core.data.limits import PREVIEW_ROW_CHARS
from core.data.reasoning import describe_row_mode
from core.data.templates import assistant_only_loss_support, default_system_prompt
from core.data.tool_templates import dataset_from_rows
from core.glossary import explain_terms_html
from core.ml_stack import import_training_stack, import_transformers

IGNORE = -100  # the label value PyTorch's cross-entropy (and TRL) skips
ROW_COLUMN = "sft_coach_row"  # carried through preparation to match prepared rows to the user's rows


@dataclass(frozen=True)
class Check:
    """One check on a rendered row."""

    ok: bool
    severity: str  # "ok" | "info" | "warning" | "error"
    message: str


@dataclass
class RenderedRow:
    """One row as the trainer sees it."""

    row: int
    """1-based row number in the user's data."""
    token_ids: list[int]
    labels: list[int]
    """The trainer's labels: the token id where it carries loss, -100 where it doesn't."""
    segments: list[tuple[str, bool]]
    """(text, carries_loss) per token; a character split over tokens is shown once, on its last token."""
    checks: list[Check] = field(default_factory=list)
    dropped: bool = False
    """True when the trainer drops this row (no token carries loss after truncation)."""

    @property
    def n_loss_tokens(self) -> int:
        return sum(label != IGNORE for label in self.labels)

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.segments)


def load_tokenizer(model_id: str):
    """The tokenizer of the model the user picked (offline default, local folder or Hub id), pad set like TRL."""
    import_transformers()  # handlers run in worker threads: see core/ml_stack.py
    from transformers import AutoTokenizer

    from core.models.catalog import ModelUnavailableError, remote_code_allowed, resolve_model

    try:
        path = resolve_model(model_id)
    except ModelUnavailableError as err:
        raise DataError(str(err)) from None
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=remote_code_allowed())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # what SFTTrainer does
    return tokenizer


def _sft_args(max_length: int | None, assistant_only_loss: bool, completion_only_loss: bool | None):
    """``SFTConfig``'s defaults as a plain namespace, with the preview's settings on top.

    Not a real ``SFTConfig``: building a ``TrainingArguments`` resets accelerate's process-wide state, which
    would break a training run going on in the background while the user looks at a preview.
    """
    from dataclasses import MISSING, fields

    import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
    from trl import SFTConfig

    values = {}
    for spec in fields(SFTConfig):
        if spec.default is not MISSING:
            values[spec.name] = spec.default
        elif spec.default_factory is not MISSING:
            values[spec.name] = spec.default_factory()
    values.update(
        max_length=max_length, assistant_only_loss=assistant_only_loss, completion_only_loss=completion_only_loss
    )
    return SimpleNamespace(**values)


def prepare_like_trainer(
    rows: Sequence[dict],
    tokenizer,
    *,
    max_length: int | None = 1024,
    assistant_only_loss: bool = False,
    completion_only_loss: bool | None = None,
    chat_template: str | None = None,
):
    """Tokenize ``rows`` exactly as ``SFTTrainer`` will; a ``datasets.Dataset`` with input_ids and labels.

    ``chat_template`` plays the part of ``SFTConfig.chat_template_path``. Each
    prepared row keeps its position in ``rows`` in the ``sft_coach_row``
    column; rows the trainer drops are missing.
    """
    from datasets.utils.logging import disable_progress_bar, enable_progress_bar, is_progress_bar_enabled

    import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
    from trl import SFTTrainer
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers
    from trl.data_utils import is_conversational

    if not rows:
        raise DataError("There are no rows to preview.")
    tokenizer = copy.copy(tokenizer)  # the chat template and pad token are set on a copy, never on the caller's
    if chat_template:
        tokenizer.chat_template = chat_template
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    first = rows[0]
    # The same decisions SFTTrainer.__init__ takes before it prepares the dataset (trl 1.16, sft_trainer.py).
    if assistant_only_loss and not is_conversational(first):
        raise DataError(
            "'Loss on assistant turns only' needs conversational data (messages); this data is not. "
            "Turn it off: prompt-completion data already puts the loss on the completion only."
        )
    template = None
    if assistant_only_loss and not has_generation_markers(tokenizer.chat_template or ""):
        try:
            template = get_training_chat_template(tokenizer)
        except ValueError:
            advice = assistant_only_loss_support(tokenizer)
            raise DataError(advice.explanation + " What works: " + " ".join(advice.options)) from None
    trainer = SimpleNamespace(
        _tokenizer=tokenizer,
        chat_template=template,
        completion_only_loss=(
            ("prompt" in first and "completion" in first) if completion_only_loss is None else completion_only_loss
        ),
    )
    args = _sft_args(max_length, assistant_only_loss, completion_only_loss)
    dataset = dataset_from_rows([{**row, ROW_COLUMN: i} for i, row in enumerate(rows)])  # tool rows kept exact
    bars = is_progress_bar_enabled()
    disable_progress_bar()
    try:
        return SFTTrainer._prepare_dataset(trainer, dataset, tokenizer, args, False, None, "preview")
    except DataError:
        raise
    except Exception as err:  # the template or tokenizer refusing a row: say which, in words
        raise DataError(
            f"The model's chat template or tokenizer could not prepare these rows ({type(err).__name__}: "
            f"{str(err)[:300]}). Check the rows with the validation step."
        ) from None
    finally:
        if bars:
            enable_progress_bar()


def token_segments(tokenizer, token_ids: list[int], labels: list[int]) -> list[tuple[str, bool]]:
    """(text, carries_loss) for each token, one entry per token.

    A character split over several tokens (an emoji in byte-level BPE) decodes
    only once whole, so its text goes on its last token and the others get "".
    """
    segments: list[tuple[str, bool]] = []
    start = 0
    for position, label in enumerate(labels):
        text = tokenizer.decode(token_ids[start : position + 1], skip_special_tokens=False)
        if text.endswith("\ufffd") and position + 1 < len(token_ids) and position - start < 8:
            segments.append(("", label != IGNORE))
            continue
        segments.append((text, label != IGNORE))
        start = position + 1
    return segments


def _system_contents(row: dict) -> list[str]:
    turns = row.get("messages") or (row.get("prompt") if isinstance(row.get("prompt"), list) else []) or []
    return [t["content"] for t in turns if isinstance(t, dict) and t.get("role") == "system" and t.get("content")]


def _checks(tokenizer, row: dict, rendered: RenderedRow, default_system: str | None, max_length: int | None):
    checks: list[Check] = []
    eos_id, eos = tokenizer.eos_token_id, tokenizer.eos_token
    trained = [t for t, label in zip(rendered.token_ids, rendered.labels, strict=True) if label != IGNORE]
    truncated = max_length is not None and len(rendered.token_ids) >= max_length
    specials = set(tokenizer.all_special_ids) | {eos_id}
    last = next((t for t in reversed(trained) if tokenizer.decode([t]).strip() or t in specials), None)
    if not trained:
        checks.append(Check(False, "error", "No token carries loss: the trainer drops this row."))
    elif last in specials:
        name = tokenizer.decode([last])
        checks.append(
            Check(True, "ok", f"The answer ends with {name!r}, and it carries loss: the model learns to stop.")
        )
    elif truncated:
        checks.append(
            Check(
                False, "warning", f"Cut at the max length ({max_length:,} tokens): the end of the answer and its "
                f"{eos!r} are missing, so this row teaches the model to go on instead of stopping."
            )
        )  # fmt: skip
    else:
        checks.append(
            Check(False, "error", f"The last trained token is not {eos!r}: the model won't learn where to stop.")
        )
    if eos_id not in rendered.token_ids and not truncated:
        checks.append(Check(False, "error", f"{eos!r} (the end-of-sequence token) is not in this row at all."))
    text = rendered.text
    for content in _system_contents(row):
        if content.strip() in text:
            checks.append(Check(True, "ok", "The row's system prompt is in the training text."))
        else:
            checks.append(Check(False, "error", "The row's system prompt is missing from the training text."))
    if not _system_contents(row) and default_system and default_system in text:
        checks.append(
            Check(
                True, "info", f"This row has no system prompt, so the chat template adds its default one: "
                f"{default_system[:80]!r}. Give the rows a system prompt if you want a different one."
            )
        )  # fmt: skip
    return checks


def pad_eos_check(tokenizer) -> Check:
    """Whether padding and end-of-sequence share a token, and why that is harmless in TRL 1.16."""
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    if pad is None:
        return Check(True, "info", f"No pad token: the trainer uses {tokenizer.eos_token!r} for padding.")
    if pad == eos:
        return Check(
            True,
            "info",
            f"Padding and end-of-sequence are the same token ({tokenizer.eos_token!r}). TRL builds the labels from "
            "the data before padding, so the real end-of-turn tokens still carry loss (see the check above); it "
            "only matters with tools that mask every pad token.",
        )
    return Check(True, "ok", f"Padding ({tokenizer.pad_token!r}) and end-of-sequence are different tokens.")


def render_training_preview(
    rows: Sequence[dict],
    tokenizer,
    *,
    n: int = 3,
    row_numbers: Sequence[int] | None = None,
    max_length: int | None = 1024,
    assistant_only_loss: bool = False,
    chat_template: str | None = None,
) -> list[RenderedRow]:
    """The first ``n`` of ``rows`` (converted, valid rows) as the trainer will see them, with checks.

    ``row_numbers`` are the user's 1-based numbers for ``rows`` (default: 1, 2, ...).
    """
    chosen = list(rows[:n])
    prepared = prepare_like_trainer(
        chosen, tokenizer, max_length=max_length, assistant_only_loss=assistant_only_loss, chat_template=chat_template
    )
    by_position = {example[ROW_COLUMN]: example for example in prepared}
    template_tokenizer = copy.copy(tokenizer)
    if chat_template:
        template_tokenizer.chat_template = chat_template
    conversational = any(f in chosen[0] for f in ("messages", "prompt")) and isinstance(
        chosen[0].get("messages", chosen[0].get("prompt")), list
    )
    default_system = default_system_prompt(template_tokenizer) if conversational else None
    result = []
    for position, row in enumerate(chosen):
        number = row_numbers[position] if row_numbers is not None else position + 1
        example = by_position.get(position)
        if example is None:
            message = "The trainer drops this row: after truncation no token carries loss (the prompt is too long)."
            result.append(RenderedRow(number, [], [], [], [Check(False, "error", message)], dropped=True))
            continue
        ids, labels = list(example["input_ids"]), list(example["labels"])
        rendered = RenderedRow(number, ids, labels, token_segments(tokenizer, ids, labels))
        rendered.checks = _checks(tokenizer, row, rendered, default_system, max_length)
        modes = describe_row_mode(row, template_tokenizer.chat_template)  # reasoning mode: core/data/reasoning.py
        rendered.checks += [Check(severity != "warning", severity, message) for severity, message in modes]
        result.append(rendered)
    return result


def loss_explanation(fmt: str, assistant_only_loss: bool = False) -> str:
    """One sentence on which tokens carry loss for this format (what the highlighting shows)."""
    if fmt in (MESSAGES,) and assistant_only_loss:
        return "Loss on the assistant's turns only (assistant_only_loss): prompts and system text are context."
    if fmt == MESSAGES:
        return "Every token carries loss in 'messages' data by default, the system prompt and questions included."
    if fmt in CONVERSATIONAL_FORMATS or fmt == "prompt_completion":
        return "Loss on the completion only (TRL's default for prompt-completion data): the prompt is context."
    return "Every token of plain text carries loss, as in pre-training."


_LOSS_STYLE = "background:#fde68a;color:#111827;border-radius:2px"
_CONTEXT_STYLE = "color:#6b7280;opacity:0.6"
_CHECK_MARKS = {
    "ok": ("✓", "#15803d"),
    "info": ("ℹ", "#2563eb"),
    "warning": ("⚠", "#b45309"),
    "error": ("✗", "#b91c1c"),
}


def render_preview_html(rendered: Sequence[RenderedRow], extra_checks: Sequence[Check] = (), unit: str = "Row") -> str:
    """Escaped HTML for the rendered rows: loss tokens highlighted, context dimmed, checks listed under each row.

    Every piece of user text goes through ``html.escape``; styles are inline so it shows the same in any page.
    """
    from html import escape

    def check_items(checks: Sequence[Check]) -> str:
        items = []
        for check in checks:
            mark, color = _CHECK_MARKS.get(check.severity, ("•", "#374151"))
            items.append(f'<li style="color:{color}">{mark} {explain_terms_html(check.message)}</li>')
        return f'<ul style="list-style:none;padding-left:0;margin:6px 0">{"".join(items)}</ul>' if items else ""

    parts = [
        '<div class="sft-preview" style="font-size:14px">',
        f'<p style="margin:0 0 8px 0"><span class="sft-loss" style="{_LOSS_STYLE}">highlighted</span>: tokens the '
        f'model is trained to produce (they carry loss). <span class="sft-context" style="{_CONTEXT_STYLE}">Dimmed'
        "</span>: context the model reads but is not trained on.</p>",
        check_items(extra_checks),
    ]
    for row in rendered:
        header = f"{unit} {row.row:,}"  # "Block" for packed documents (core/data/packed_preview.py)
        if not row.dropped:
            header += f" · {len(row.token_ids):,} tokens · {row.n_loss_tokens:,} carry loss"
        spans = []
        for text, loss in _clip_spans(_merge(row.segments), PREVIEW_ROW_CHARS):
            if loss is None:  # the middle of a very long row, left out (its start and end are shown)
                spans.append(f'<span class="coach-muted">{escape(text)}</span>')
                continue
            css, style = ("sft-loss", _LOSS_STYLE) if loss else ("sft-context", _CONTEXT_STYLE)
            spans.append(f'<span class="{css}" style="{style}">{escape(text)}</span>')
        parts.append(
            '<div class="sft-preview-row" style="border:1px solid #e5e7eb;border-radius:6px;padding:8px;'
            f'margin-bottom:10px"><div style="font-weight:600;margin-bottom:4px">{escape(header)}</div>'
            '<pre style="white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,monospace;'
            f'font-size:13px;margin:0">{"".join(spans)}</pre>{check_items(row.checks)}</div>'
        )
    parts.append("</div>")
    return "".join(parts)


def _clip_spans(spans: Sequence[tuple[str, bool]], budget: int) -> list[tuple[str, bool | None]]:
    """The first and last ``budget // 2`` characters of a row's spans, and between them how many are left out.

    The end is kept because that is where the end-of-turn token the checks talk about is.

    >>> _clip_spans([("abcdef", False), ("ghij", True)], 4)
    [('ab', False), (' … (6 more characters) … ', None), ('ij', True)]
    """
    total = sum(len(text) for text, _ in spans)
    if total <= budget:
        return list(spans)
    head, tail, room = [], [], budget // 2
    for text, loss in spans:
        if room <= 0:
            break
        head.append((text[:room], loss))
        room -= len(head[-1][0])
    room = budget - budget // 2
    for text, loss in reversed(spans):
        if room <= 0:
            break
        tail.append((text[-room:], loss))
        room -= len(tail[-1][0])
    return [*head, (f" … ({total - budget:,} more characters) … ", None), *reversed(tail)]


def _merge(segments: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Join neighbouring tokens with the same loss flag, so the HTML has a span per run, not per token.

    >>> _merge([("a", True), ("b", True), ("c", False)])
    [('ab', True), ('c', False)]
    """
    merged: list[tuple[str, bool]] = []
    for text, loss in segments:
        if merged and merged[-1][1] == loss:
            merged[-1] = (merged[-1][0] + text, loss)
        elif text or not merged:
            merged.append((text, loss))
    return merged
