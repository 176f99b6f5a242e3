"""Quick scores before vs after fine-tuning, on held-out rows the model never trained on.

- Built-in demos (by name, or committed in the Data step: the rows decide, see
  ``task_for_dataset``): greedy answers to the first N held-out rows, scored by
  ``core.scoring`` (valid-JSON rate, exact match and field accuracy for JSON
  extraction; final-answer accuracy for the word problems).
- Your own data: the validation loss on the answer tokens, and its
  perplexity (``exp(loss)``), for the base model and the fine-tuned one.

How the validation loss is computed (and how it differs from the trainer's):
each row becomes a prompt and a completion exactly as TRL's SFTTrainer
tokenizes prompt-completion data: the prompt rendered with the generation
prompt, prompt + completion rendered in full, the completion starting where
the two token lists diverge (``trl.data_utils.common_prefix_length``), the
completion alone carrying loss, truncated to ``max_length`` from the start.
A ``messages`` row is split before its last assistant turn, so only that
answer is scored; the trainer, without ``assistant_only_loss``, also puts
loss on the prompt of such rows, so this number is lower than the run's
logged ``eval_loss`` for them. Plain ``text`` rows carry loss on every token,
as in training. The loss is the mean over all scored tokens of all rows
(the trainer averages per batch, which differs only in the weighting).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.demo_tool_calls import DEMO_TOOLS
from core.ml_stack import import_training_stack
from core.runs.store import RunFolder
from core.scoring import score_json_extraction, score_tool_calls, score_word_problems

Progress = Callable[[str], None]

SCORERS: dict[str, Callable[[list[str], list[str]], dict]] = {
    "json_extraction": score_json_extraction,
    "word_problems": score_word_problems,
    "tool_calling": lambda predictions, references: score_tool_calls(predictions, references, DEMO_TOOLS),
}
# Answer budgets: the longest held-out reference is 45 tokens (JSON object) and 53 tokens (<think> reasoning plus
# "The answer is N.") with SmolLM2's tokenizer. Room to finish, little time spent on rambling: greedy decoding of a
# batch runs until its longest answer ends, and an untrained base model rarely stops early.
MAX_NEW_TOKENS = {"json_extraction": 64, "word_problems": 96, "tool_calling": 64}  # the longest demo call: 40
# 20 rows: a 135M model answers them in about a minute on a laptop CPU; each row is 5 points of a rate,
# enough to see a jump from fine-tuning, not a 2-point change.
DEFAULT_ROWS = 20
DEFAULT_LOSS_ROWS = 64  # loss needs no generation, so more rows cost little

METRIC_NAMES = {
    "valid_json_rate": "Valid JSON",
    "exact_match_rate": "Exact match",
    "field_accuracy": "Field accuracy",
    "answer_accuracy": "Final-answer accuracy",
    "valid_tool_call_rate": "Valid tool call",
    "right_call_rate": "Right call (function and arguments)",
    "direct_answer_rate": "Answers directly when no tool fits",
    "loss": "Validation loss (answer tokens)",
    "perplexity": "Perplexity",
}
LOWER_IS_BETTER = {"loss", "perplexity"}


class EvaluationError(ValueError):
    """The evaluation can't run as asked; the message says why and what to do."""


@dataclass
class BeforeAfter:
    """Scores of the base model and the fine-tuned one on the same held-out rows."""

    kind: str
    """'task_scores' (a built-in demo) or 'validation_loss' (your own data)."""
    dataset: str
    n: int
    """Held-out rows scored."""
    base_ref: str
    tuned_ref: str
    before: dict[str, float]
    after: dict[str, float]
    examples: list[dict[str, Any]] = field(default_factory=list)
    """A few rows with the prompt, the reference and both answers (task scores only)."""
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """One sentence per metric, e.g. 'Valid JSON: 15% before, 90% after (better).'."""
        out = []
        for key, before in self.before.items():
            if key not in METRIC_NAMES or key not in self.after:
                continue
            after = self.after[key]
            verdict = _verdict(key, before, after)
            out.append(
                f"{METRIC_NAMES.get(key, key)}: {_fmt(key, before)} before, {_fmt(key, after)} after ({verdict})."
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(key: str, value: float) -> str:
    return f"{value:.3f}" if key in LOWER_IS_BETTER else f"{value:.0%}"


def _verdict(key: str, before: float, after: float) -> str:
    if math.isclose(before, after, abs_tol=1e-9):
        return "no change"
    improved = after < before if key in LOWER_IS_BETTER else after > before
    return "better" if improved else "worse"


def task_for_dataset(dataset: str) -> str | None:
    """The built-in task a dataset's rows are, or None for the user's own data.

    Decided by the rows, not the name: a demo committed in the Data step is a folder of the demo's rows and
    gets the demo's task scores, as the demo trained by name does (``core.data.prepare.find_demo``).
    """
    from core.data.prepare import DataError, prepare_training_data

    if dataset in SCORERS:
        return dataset
    try:
        return prepare_training_data(dataset, num_probes=0).demo
    except (DataError, OSError):
        return None  # moved or unreadable since training: the validation loss reports that in its own words


def held_out_rows(dataset: str, n: int) -> list[dict]:
    """The first ``n`` held-out rows of a dataset: a demo's test split, or the validation split of your data."""
    from core.data.prepare import prepare_training_data

    if n < 1:
        raise EvaluationError(f"Score at least 1 held-out row (asked for {n}).")
    rows = prepare_training_data(dataset, num_probes=0).eval_rows
    if not rows:
        raise EvaluationError(
            "This dataset has no held-out rows to score on: add a test.jsonl next to train.jsonl, "
            "or use at least 20 rows so 5% can be held out."
        )
    return rows[:n]


def score_answers(task: str, predictions: list[str], references: list[str]) -> dict:
    """Score answers with the demo task's scorer (see core/scoring.py)."""
    if task not in SCORERS:
        raise EvaluationError(f"There is no scorer for '{task}'. Built-in tasks: {', '.join(SCORERS)}.")
    return SCORERS[task](predictions, references)


def quick_scores(
    pool,
    base_ref: str,
    tuned_ref: str,
    dataset: str,
    n: int = DEFAULT_ROWS,
    max_new_tokens: int | None = None,
    progress: Progress | None = None,
) -> BeforeAfter:
    """Task scores of the base and fine-tuned models on the first ``n`` held-out rows of a built-in demo."""
    from core.data.to_trl import prompt_messages, reference_answer
    from core.generation import generate_for_rows

    task = task_for_dataset(dataset)
    if task is None:
        raise EvaluationError(
            f"Quick task scores exist for the built-in demos' rows ({', '.join(SCORERS)}); "
            f"for '{dataset}' use the validation loss instead."
        )
    start = time.perf_counter()
    rows = held_out_rows(dataset, n)
    references = [reference_answer(row) for row in rows]
    budget = max_new_tokens or MAX_NEW_TOKENS[task]
    answers = {}
    for side, ref in (("before", base_ref), ("after", tuned_ref)):
        if progress:
            progress(
                f"Answering {len(rows)} held-out rows with the {'base' if side == 'before' else 'fine-tuned'} model..."
            )
        with pool.use(ref, progress=progress) as loaded:
            model = "base" if side == "before" else "fine-tuned"
            answers[side] = generate_for_rows(loaded, rows, budget, progress=progress, what=f"The {model} model: ")
    examples = [
        {"prompt": prompt_messages(row)[-1]["content"], "reference": ref, "before": b, "after": a}
        for row, ref, b, a in list(zip(rows, references, answers["before"], answers["after"], strict=True))[:5]
    ]
    return BeforeAfter(
        "task_scores",
        dataset,
        len(rows),
        base_ref,
        tuned_ref,
        score_answers(task, answers["before"], references),
        score_answers(task, answers["after"], references),
        examples,
        round(time.perf_counter() - start, 2),
    )


# -- validation loss ----------------------------------------------------------------------------------------
def to_loss_example(row: dict) -> dict | None:
    """A row as the trainer's prompt-completion (or text) example; None when it has nothing to score.

    >>> to_loss_example({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})
    {'prompt': [{'role': 'user', 'content': 'Hi'}], 'completion': [{'role': 'assistant', 'content': 'Hello'}]}
    """
    if "messages" in row:
        messages = list(row["messages"])
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
        if last is None or last == 0:
            return None
        return {"prompt": messages[:last], "completion": [messages[last]]}
    if "prompt" in row and "completion" in row:
        return {"prompt": row["prompt"], "completion": row["completion"]}
    if isinstance(row.get("text"), str):
        return {"text": row["text"]}
    return None


def _chat_ids(tokenizer, messages: list[dict], **kwargs) -> list[int]:
    return list(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, **kwargs)["input_ids"])


def loss_labels(tokenizer, example: dict, max_length: int = 512) -> tuple[list[int], list[int]] | None:
    """``(input_ids, labels)`` for one example, masked like TRL's SFTTrainer; None if nothing is left to score.

    Labels are -100 where no loss is taken (the prompt).
    """
    import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
    from trl.data_utils import common_prefix_length

    eos = tokenizer.eos_token or ""
    if "prompt" in example:
        prompt, completion = example["prompt"], example["completion"]
        if isinstance(prompt, list):
            prompt_ids = _chat_ids(tokenizer, prompt, add_generation_prompt=True)
            full_ids = _chat_ids(tokenizer, prompt + completion)
        else:
            completion = completion if completion.endswith(eos) else completion + eos  # TRL adds EOS to raw text
            prompt_ids = list(tokenizer(text=prompt)["input_ids"])
            full_ids = list(tokenizer(text=prompt + completion)["input_ids"])
        start = common_prefix_length(prompt_ids, full_ids)
        labels = [-100] * start + full_ids[start:]
    else:
        text = example["text"] if example["text"].endswith(eos) else example["text"] + eos
        full_ids = list(tokenizer(text=text)["input_ids"])
        labels = list(full_ids)
    full_ids, labels = full_ids[:max_length], labels[:max_length]  # TRL's default truncation keeps the start
    if all(label == -100 for label in labels):
        return None
    return full_ids, labels


@dataclass
class LossReport:
    """Validation loss on the answer tokens of some rows."""

    loss: float
    perplexity: float
    rows: int
    tokens: int
    skipped: int
    """Rows with nothing to score (no assistant answer, or truncated away)."""


def validation_loss(model, tokenizer, rows: list[dict], max_length: int = 512, batch_size: int = 4) -> LossReport:
    """Mean negative log-likelihood per answer token over ``rows`` (see the module docstring), and perplexity."""
    import torch
    import torch.nn.functional as F

    encoded, skipped = [], 0
    for row in rows:
        example = to_loss_example(row)
        pair = loss_labels(tokenizer, example, max_length) if example is not None else None
        if pair is None:
            skipped += 1
        else:
            encoded.append(pair)
    if not encoded:
        raise EvaluationError(
            "None of these rows has an answer to score: each needs an assistant turn or a completion."
        )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(encoded), batch_size):
            batch = encoded[start : start + batch_size]
            width = max(len(ids) for ids, _ in batch)
            ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in batch], device=model.device)
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in batch], device=model.device)
            labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch], device=model.device)
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=mask).logits.float()
            # Position t predicts token t + 1, as in the trainer.
            flat_logits = logits[:, :-1, :].reshape(-1, logits.size(-1))
            flat_labels = labels[:, 1:].reshape(-1)
            total += F.cross_entropy(flat_logits, flat_labels, ignore_index=-100, reduction="sum").item()
            count += int((flat_labels != -100).sum())
    finally:
        if was_training:
            model.train()
    loss = total / count
    return LossReport(loss, math.exp(min(loss, 50.0)), len(encoded), count, skipped)


def loss_before_after(
    pool,
    base_ref: str,
    tuned_ref: str,
    dataset: str,
    n: int = DEFAULT_LOSS_ROWS,
    max_length: int = 512,
    progress: Progress | None = None,
) -> BeforeAfter:
    """Validation loss and perplexity of the base and fine-tuned models on the first ``n`` held-out rows."""
    start = time.perf_counter()
    rows = held_out_rows(dataset, n)
    reports = {}
    for side, ref in (("before", base_ref), ("after", tuned_ref)):
        if progress:
            progress(f"Measuring the validation loss of the {'base' if side == 'before' else 'fine-tuned'} model...")
        with pool.use(ref, progress=progress) as loaded:
            reports[side] = validation_loss(loaded.model, loaded.tokenizer, rows, max_length)
    before, after = reports["before"], reports["after"]
    return BeforeAfter(
        "validation_loss",
        dataset,
        before.rows,
        base_ref,
        tuned_ref,
        {"loss": before.loss, "perplexity": before.perplexity, "tokens": before.tokens},
        {"loss": after.loss, "perplexity": after.perplexity, "tokens": after.tokens},
        seconds=round(time.perf_counter() - start, 2),
    )


# -- a run ------------------------------------------------------------------------------------------------
def evaluate_run(pool, run_dir: str | Path, n: int | None = None, progress: Progress | None = None) -> BeforeAfter:
    """Before vs after for a finished run: task scores for a built-in demo, validation loss otherwise.

    The result is saved with the run (the model card reads it).
    """
    run = RunFolder(run_dir)
    config = run.read_config() or {}
    state = run.read_state() or {}
    result_dir = state.get("result_dir")
    if not result_dir or not Path(result_dir).is_dir():
        raise EvaluationError(f"The run {run.run_id} has no trained model yet: wait for it to finish, then score it.")
    base, dataset = config.get("model_id"), config.get("dataset")
    if not base or not dataset:
        raise EvaluationError(f"The run {run.run_id} has no readable settings, so its base model is unknown.")
    if task_for_dataset(dataset):
        result = quick_scores(pool, base, result_dir, dataset, n or DEFAULT_ROWS, progress=progress)
    else:
        max_length = int(config.get("max_length") or 512)
        result = loss_before_after(pool, base, result_dir, dataset, n or DEFAULT_LOSS_ROWS, max_length, progress)
    save_evaluation(run_dir, result)
    return result


def save_evaluation(run_dir: str | Path, result: BeforeAfter) -> Path:
    """Keep the scores with the run (written atomically); returns the file."""
    return RunFolder(run_dir).write_evaluation(result.to_dict())


def load_evaluation(run_dir: str | Path) -> BeforeAfter | None:
    """The run's saved before/after scores, or None."""
    values = RunFolder(run_dir).read_evaluation()
    if not values:
        return None
    try:
        return BeforeAfter(**values)
    except TypeError:
        return None
