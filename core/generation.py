"""Generating answers from a model: probe samples during training, and chat later."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class GenerationResult:
    answers: list[str]
    seconds: float
    stopped: bool = False
    """True when ``should_stop`` ended the generation early: the answers are cut short."""


def _watcher(should_stop: Callable[[], bool] | None, progress: Callable[[int, int], None] | None, total: int):
    """A transformers stopping criterion that reports each new token and ends generation on ``should_stop``."""
    import torch
    from transformers import StoppingCriteria

    class Watch(StoppingCriteria):
        def __init__(self) -> None:
            self.tokens = 0
            self.stopped = False

        def __call__(self, input_ids, scores, **kwargs):
            self.tokens += 1
            if progress is not None:
                progress(self.tokens, total)
            self.stopped = bool(should_stop and should_stop())
            # one flag for the whole batch: every prompt stops together
            return torch.full((input_ids.shape[0],), self.stopped, dtype=torch.bool, device=input_ids.device)

    return Watch()


def generate_answers(
    model,
    tokenizer,
    prompts: list[list[dict]],
    max_new_tokens: int = 64,
    *,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationResult:
    """Greedy answers to chat prompts, rendered with the model's own chat template.

    Greedy decoding makes the step-by-step sample table comparable: a change
    in the answer comes from the weights, not from sampling noise. The model
    is put in eval mode for the call and restored afterwards, so this can run
    between training steps. ``progress(tokens, max_new_tokens)`` is called after each new token (the page
    counts them), and ``should_stop()`` too: True ends the generation there (Stop during the samples).
    """
    import torch

    if not prompts:
        return GenerationResult([], 0.0)
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
    try:
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = {k: v.to(model.device) for k, v in batch.items()}
        watch = _watcher(should_stop, progress, max_new_tokens) if should_stop or progress else None
        with torch.no_grad():
            output = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                **({"stopping_criteria": [watch]} if watch else {}),
            )
    finally:
        tokenizer.padding_side = side
        if was_training:
            model.train()
    new_tokens = output[:, batch["input_ids"].shape[1] :]
    answers = [tokenizer.decode(t, skip_special_tokens=True).strip() for t in new_tokens]
    return GenerationResult(answers, time.perf_counter() - start, bool(watch and watch.stopped))


def generate_for_rows(
    loaded,
    rows: list[dict],
    max_new_tokens: int,
    batch_size: int = 8,
    progress: Callable[[str], None] | None = None,
    what: str = "",
) -> list[str]:
    """Greedy answers to conversational rows, in batches (the same generator the training samples use).

    ``progress`` hears, about once a second, which rows are being answered and how many tokens they have.
    """
    from core.data.to_trl import prompt_messages
    from core.data.tool_templates import rows_for_template

    rows, _ = rows_for_template(rows, loaded.tokenizer)  # tools as text where the template can't render them
    prompts = [prompt_messages(row) for row in rows]
    answers: list[str] = []
    said = [0.0]
    for start in range(0, len(prompts), batch_size):
        batch = prompts[start : start + batch_size]
        rows_now = f"rows {start + 1}-{start + len(batch)} of {len(prompts)}"

        def tokens(done: int, total: int, rows_now: str = rows_now) -> None:
            if progress and time.monotonic() - said[0] >= 1.0:
                said[0] = time.monotonic()
                progress(f"{what}{rows_now}, {done} of at most {total} tokens...")

        result = generate_answers(
            loaded.model, loaded.tokenizer, batch, max_new_tokens=max_new_tokens, progress=tokens
        )
        answers += result.answers
    return answers
