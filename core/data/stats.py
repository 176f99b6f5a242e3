"""Token lengths as the trainer will see them, their percentiles and a recommended max length.

Their histogram is drawn in ``core/data/length_chart.py``.

Lengths are measured the way TRL 1.16's ``SFTTrainer`` tokenizes each format
(see ``trl/trainer/sft_trainer.py``, ``_prepare_dataset``): conversational
rows through the chat template (rendered, then tokenized without extra special
tokens, exactly what ``apply_chat_template(tokenize=True)`` does), plain text
and prompt-completion rows with the tokenizer's defaults plus the EOS token
the trainer appends. Rendering and tokenizing run in batches, so 100k rows
take seconds, not minutes.

What TRL 1.16 does with a row longer than ``max_length`` (``SFTConfig``
defaults: ``max_length=1024``, ``truncation_mode="keep_start"``): it keeps the
first ``max_length`` tokens and cuts the rest, end-of-turn token included; a
row left with no token that carries loss (its prompt alone fills
``max_length``) is then dropped from training altogether.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.data.formats import CONVERSATIONAL_PROMPT_COMPLETION, MESSAGES, PROMPT_COMPLETION, TEXT

# The usual max-length choices (sft-facts §3 "Sequence length": 512 very short, 1024 short, 2048 long,
# 4096 very long); the recommendation picks the smallest one that holds the 95th (or 99th) percentile row.
MAX_LENGTH_CHOICES = (512, 1024, 2048, 4096)


@dataclass
class TokenLengths:
    """Token counts per row, in input order (None where a row was not measured)."""

    lengths: list[int | None]
    prompt_lengths: list[int | None] | None = None
    """Tokens before the first token that carries loss (prompt-completion data), else None."""
    errors: dict[int, str] = field(default_factory=dict)
    """0-based row index -> why the chat template could not render that row."""

    def measured(self) -> list[int]:
        return [n for n in self.lengths if n is not None]


@dataclass(frozen=True)
class LengthStats:
    """Percentiles of the token lengths (nearest-rank)."""

    n: int
    p50: int
    p95: int
    p99: int
    max: int
    mean: float


def _render(
    tokenizer, conversations: list[list[dict]], chat_template: str | None, generation_prompt: bool, tools=None
):
    """Render many conversations at once; on a template error, render one by one to find the rows that fail.

    ``tools`` holds each row's tool list (or None), passed to the template as TRL does; rows with tools are
    rendered one by one, since ``apply_chat_template`` takes one tool list per call.
    """
    tools = tools or [None] * len(conversations)
    if not any(tools):
        try:
            return tokenizer.apply_chat_template(
                conversations, tokenize=False, add_generation_prompt=generation_prompt, chat_template=chat_template
            ), {}
        except Exception:  # jinja TemplateError, TypeError on non-text content, ValueError...: located below
            pass
    texts, errors = [], {}
    for position, conversation in enumerate(conversations):
        try:
            texts.append(
                tokenizer.apply_chat_template(
                    conversation,
                    tokenize=False,
                    add_generation_prompt=generation_prompt,
                    chat_template=chat_template,
                    tools=tools[position] or None,
                )
            )
        except Exception as err:  # the template's own message (e.g. "roles must alternate") is the useful part
            texts.append(None)
            errors[position] = f"{type(err).__name__}: {str(err)[:200]}"
    return texts, errors


def _count(tokenizer, texts: list[str | None], special_tokens: bool) -> list[int | None]:
    present = [t for t in texts if t is not None]
    ids = (
        tokenizer(present, add_special_tokens=special_tokens, return_attention_mask=False)["input_ids"]
        if present
        else []
    )
    counts = iter(len(i) for i in ids)
    return [next(counts) if t is not None else None for t in texts]


def _first_assistant(turns: list[dict]) -> int:
    return next((i for i, t in enumerate(turns) if t.get("role") == "assistant"), len(turns))


def measure_lengths(
    rows: Sequence[dict | None],
    fmt: str,
    tokenizer,
    *,
    chat_template: str | None = None,
    assistant_only_loss: bool = False,
    batch_size: int = 512,
    checkpoint: Callable[[], None] | None = None,
) -> TokenLengths:
    """Count the tokens of every row as the trainer will; None rows (left out earlier) are skipped.

    ``checkpoint`` is called before each batch and raises to stop the work (core/data/heavy_work.py).

    ``prompt_lengths`` are measured for prompt-completion data, and for
    ``messages`` with ``assistant_only_loss``: a row whose prompt fills
    ``max_length`` is dropped by the trainer.
    """
    n = len(rows)
    result = TokenLengths(lengths=[None] * n)
    wants_prompt = fmt in (PROMPT_COMPLETION, CONVERSATIONAL_PROMPT_COMPLETION) or (
        fmt == MESSAGES and assistant_only_loss
    )
    if wants_prompt:
        result.prompt_lengths = [None] * n
    eos = tokenizer.eos_token or ""
    for start in range(0, n, batch_size):
        if checkpoint is not None:
            checkpoint()
        indices = [i for i in range(start, min(start + batch_size, n)) if rows[i] is not None]
        batch = [rows[i] for i in indices]
        prompts: list[str | None] | None = None
        if fmt == TEXT:
            texts = [r["text"] if r["text"].endswith(eos) else r["text"] + eos for r in batch]
            full = _count(tokenizer, texts, True)
        elif fmt == PROMPT_COMPLETION:
            texts = [
                r["prompt"] + (r["completion"] if r["completion"].endswith(eos) else r["completion"] + eos)
                for r in batch
            ]
            full = _count(tokenizer, texts, True)
            prompts = _count(tokenizer, [r["prompt"] for r in batch], True)
        else:
            if fmt == MESSAGES:
                conversations = [r["messages"] for r in batch]
                heads = [r["messages"][: _first_assistant(r["messages"])] for r in batch] if wants_prompt else None
            else:
                conversations = [r["prompt"] + r["completion"] for r in batch]
                heads = [r["prompt"] for r in batch]
            # What TRL passes to the template with each row (it reads a JSON string too).
            tools = [json.loads(r["tools"]) if isinstance(r.get("tools"), str) else r.get("tools") for r in batch]
            texts, errors = _render(tokenizer, conversations, chat_template, False, tools)
            for position, message in errors.items():
                result.errors[indices[position]] = message
            full = _count(tokenizer, texts, False)
            if heads is not None:
                head_texts, _ = _render(tokenizer, heads, chat_template, True, tools)
                prompts = _count(tokenizer, head_texts, False)
        for position, index in enumerate(indices):
            result.lengths[index] = full[position]
            if prompts is not None and result.prompt_lengths is not None:
                result.prompt_lengths[index] = prompts[position] if full[position] is not None else None
    return result


def _nearest_rank(sorted_values: list[int], q: float) -> int:
    """The q-th percentile by nearest rank.

    >>> _nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)
    10
    >>> _nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)
    5
    """
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def length_stats(lengths: Sequence[int | None] | TokenLengths) -> LengthStats:
    """p50/p95/p99/max/mean of the measured lengths.

    >>> length_stats(list(range(1, 101)))
    LengthStats(n=100, p50=50, p95=95, p99=99, max=100, mean=50.5)
    """
    values = lengths.measured() if isinstance(lengths, TokenLengths) else [n for n in lengths if n is not None]
    if not values:
        return LengthStats(0, 0, 0, 0, 0, 0.0)
    values = sorted(values)
    return LengthStats(
        n=len(values),
        p50=_nearest_rank(values, 50),
        p95=_nearest_rank(values, 95),
        p99=_nearest_rank(values, 99),
        max=values[-1],
        mean=round(sum(values) / len(values), 1),
    )


def recommend_max_length(
    stats: LengthStats, model_max_length: int | None = None, percentile: int = 95
) -> tuple[int, str]:
    """A max length from the data: the p95 (or p99) row length rounded up to 512/1024/2048/4096, capped by the model.

    Picking from the 95th or 99th percentile of tokenized lengths is sft-facts §3 ("Sequence length").

    >>> recommend_max_length(LengthStats(100, 300, 700, 900, 1500, 320.0))[0]
    1024
    >>> recommend_max_length(LengthStats(100, 300, 700, 900, 1500, 320.0), model_max_length=512)[0]
    512
    """
    if stats.n == 0:
        return MAX_LENGTH_CHOICES[1], "No rows were measured; 1024 is TRL's default."
    target = stats.p99 if percentile >= 99 else stats.p95
    choice = next((c for c in MAX_LENGTH_CHOICES if c >= target), MAX_LENGTH_CHOICES[-1])
    reason = f"The {percentile}th percentile row has {target:,} tokens; {choice} holds it"
    if target > MAX_LENGTH_CHOICES[-1]:
        reason = f"The {percentile}th percentile row has {target:,} tokens, more than the usual largest choice, 4096"
    if model_max_length and choice > model_max_length:
        choice = model_max_length
        reason += f"; capped at {model_max_length:,}, the longest input the model accepts"
    if percentile < 99:
        fits = "fit" if stats.p99 <= choice else "would not all fit"
        reason += f" (and 99 of every 100 rows up to {stats.p99:,} tokens {fits} in {choice})"
    return choice, reason + "."


# A row is an outlier when it has more than 4x the tokens of the 90th-percentile row: not the long tail of
# the data but another kind of row (a generation loop, a pasted document). p90 is the yardstick because,
# unlike p99 or the maximum, a few such rows can't move it (with 20 rows, p95 *is* the longest row). At most
# 5% of the rows (at least one) can be outliers: more than that is the shape of the data, not an accident.
OUTLIER_FACTOR = 4
OUTLIER_MAX_SHARE = 0.05
OUTLIER_MIN_ROWS = 10


def find_length_outliers(lengths: Sequence[int | None] | TokenLengths) -> list[int]:
    """0-based indices of the rows far longer than the rest (see ``OUTLIER_FACTOR``).

    >>> find_length_outliers([100] * 12 + [5000])
    [12]
    >>> find_length_outliers(list(range(100, 1100, 10)))  # a long tail, no outlier
    []
    """
    values = lengths.lengths if isinstance(lengths, TokenLengths) else list(lengths)
    measured = sorted(n for n in values if n is not None)
    if len(measured) < OUTLIER_MIN_ROWS:
        return []
    fence = OUTLIER_FACTOR * _nearest_rank(measured, 90)
    found = [i for i, n in enumerate(values) if n is not None and n > fence]
    return found if len(found) <= max(1, OUTLIER_MAX_SHARE * len(measured)) else []


def row_list(indices: Sequence[int], limit: int = 10) -> str:
    """ "rows 3, 8 and 12" (1-based), the first ``limit`` of them.

    >>> row_list([2]), row_list([2, 7, 11]), row_list(list(range(12)), limit=2)
    ('row 3', 'rows 3, 8 and 12', 'rows 1, 2 and 10 more')
    """
    numbers = [f"{i + 1:,}" for i in indices[:limit]]
    if len(indices) > limit:
        return f"rows {', '.join(numbers)} and {len(indices) - limit:,} more"
    if len(numbers) == 1:
        return f"row {numbers[0]}"
    return f"rows {', '.join(numbers[:-1])} and {numbers[-1]}"


def recommend_from_lengths(
    lengths: TokenLengths, model_max_length: int | None = None, percentile: int = 95
) -> tuple[int, str, list[int]]:
    """``recommend_max_length`` on every row but the outliers, its reason naming them; (choice, reason, outliers).

    A single runaway row (a loop 30x the others) would otherwise set the max length for everyone.
    """
    outliers = find_length_outliers(lengths)
    left_out = set(outliers)
    rest = [n for i, n in enumerate(lengths.lengths) if i not in left_out]
    choice, reason = recommend_max_length(length_stats(rest), model_max_length, percentile)
    if outliers:
        longest = max(lengths.lengths[i] for i in outliers)
        one = len(outliers) == 1
        count, them = ("1 row is", "it") if one else (f"{len(outliers):,} rows are", "them")
        size = f"{longest:,} tokens" if one else f"up to {longest:,} tokens"
        cut = f"{'is' if one else 'are'} truncated there" if longest > choice else f"fit{'s' if one else ''} in it"
        reason += (
            f" Not counted: {count} far longer than the rest ({row_list(outliers)}, {size}; more than "
            f"{OUTLIER_FACTOR}x the 90th percentile) and {cut}. Look at {them}: a repeated answer or a pasted "
            "document is likely."
        )
    return choice, reason, outliers


@dataclass(frozen=True)
class TruncationSummary:
    """How many rows the trainer will cut or drop at a given max length."""

    max_length: int
    n_rows: int
    n_truncated: int
    n_dropped: int
    message: str

    @property
    def share_truncated(self) -> float:
        return self.n_truncated / self.n_rows if self.n_rows else 0.0


def truncation_summary(lengths: TokenLengths, max_length: int) -> TruncationSummary:
    """ "X rows (Y%) exceed N tokens and will be truncated", saying what TRL 1.16 does with them.

    >>> truncation_summary(TokenLengths([10, 20, 30, 40], [5, 5, 5, 35]), 25).message.split(". ")[0]
    '2 rows (50.0%) exceed 25 tokens and will be truncated'
    """
    values = lengths.lengths
    measured = [n for n in values if n is not None]
    over = [i for i, n in enumerate(values) if n is not None and n > max_length]
    dropped = [i for i in over if lengths.prompt_lengths and (lengths.prompt_lengths[i] or 0) >= max_length]
    share = len(over) / len(measured) if measured else 0.0
    if not over:
        message = f"All {len(measured):,} rows fit in {max_length:,} tokens: nothing will be truncated."
    else:
        message = (
            f"{len(over):,} rows ({share:.1%}) exceed {max_length:,} tokens and will be truncated. "
            f"TRL keeps the first {max_length:,} tokens of such a row (truncation_mode='keep_start') and cuts the "
            "rest, including the end of the answer and its end-of-turn token, so the model sees those answers "
            "stop mid-way."
        )
        if dropped:
            message += (
                f" {len(dropped):,} of them will be dropped from training: their prompt alone fills "
                f"{max_length:,} tokens, leaving no answer token to learn from."
            )
        message += " Raise the max length or shorten those rows to avoid it."
    return TruncationSummary(max_length, len(measured), len(over), len(dropped), message)


def model_context_length(model_path: str) -> int | None:
    """The longest input the model accepts (``max_position_embeddings``), from its config; None if unknown."""
    from core.models.catalog import read_model_config

    try:
        config = read_model_config(model_path)
    except Exception:  # an unreadable config just means "no cap"
        return None
    value = config.get("max_position_embeddings") or (config.get("text_config") or {}).get("max_position_embeddings")
    return int(value) if value else None
