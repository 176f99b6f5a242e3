"""Talking to a model: one reply, streamed token by token or all at once, with the model's own chat template.

``stream_chat`` runs ``model.generate`` in a background thread that only
collects the new token ids (``TokenCollector``); the reader decodes them and
yields the answer so far, the first token at once and then at most every
``STREAM_EVERY_SECONDS``; its last value is exactly what ``chat_once`` returns
for the same settings (greedy, or sampled with the same seed). Stopping is a
``threading.Event`` checked by a ``StoppingCriteria`` before each new token,
the same pattern as the training Stop button (STYLE.md).

Thinking modes: SmolLM3's chat template switches reasoning on with ``/think``
and off with ``/no_think`` in the system prompt, and also reads an
``enable_thinking`` template variable (sft-facts §6). Both are set when the
template mentions them; other models ignore the ``thinking`` setting.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

THINKING_MODES = ("think", "no_think")


class ChatError(ValueError):
    """A chat request can't be run as given; the message says what to change."""


@dataclass(frozen=True)
class GenerationSettings:
    """How one reply is generated. Frozen, so two models compared side by side get the very same object."""

    temperature: float = 0.6
    """Randomness of sampling. 0.6 with top_p 0.95 is what the SmolLM3 model card recommends for chat."""
    top_p: float = 0.95
    """Sample only from the most likely tokens whose probabilities add up to this (nucleus sampling)."""
    max_new_tokens: int = 256
    """Longest answer in tokens: a few paragraphs, ~10 s for a 135M model on a laptop CPU."""
    repetition_penalty: float = 1.0
    """Above 1 discourages repeating tokens. Off by default: transformers penalises every token of the prompt
    too, which hurts tasks that copy from the input (JSON extraction copies names); 1.1-1.2 helps a model that
    loops."""
    seed: int | None = 42
    """Seed for sampling, so the same question with the same settings gives the same answer; None = new each time."""
    deterministic: bool = False
    """Greedy decoding (always the most likely token): ignores temperature, top_p and seed."""
    system_prompt: str = ""
    """Instructions sent as the system message; empty keeps the conversation's own (or the template's default)."""
    thinking: str | None = None
    """'think' or 'no_think' for models whose template has reasoning modes (SmolLM3); None = the model's default."""

    def __post_init__(self) -> None:
        def fail(name: str, fix: str) -> None:
            raise ChatError(f"Setting '{name}' = {getattr(self, name)!r} is not valid: {fix}")

        if not (0 < self.temperature <= 2):
            fail("temperature", "use a value above 0 and at most 2 (0.6 is a good start), or turn on 'deterministic'.")
        if not (0 < self.top_p <= 1):
            fail("top_p", "use a value above 0 and at most 1, e.g. 0.95.")
        if not (1 <= self.max_new_tokens <= 4096):
            fail("max_new_tokens", "use between 1 and 4096 tokens.")
        if not (1 <= self.repetition_penalty <= 2):
            fail("repetition_penalty", "use 1.0 (off) up to 2.0; 1.1-1.2 is a mild penalty.")
        if self.seed is not None and not (0 <= self.seed < 2**32):
            fail("seed", "use a whole number from 0 to 4294967295, or leave it empty for a new seed each time.")
        if self.thinking is not None and self.thinking not in THINKING_MODES:
            fail("thinking", "use 'think', 'no_think' or leave it empty.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_seed(self, seed: int | None) -> GenerationSettings:
        return replace(self, seed=seed)


def _template_text(tokenizer) -> str:
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, dict):  # some tokenizers hold several named templates
        return "\n".join(str(t) for t in template.values())
    return str(template)


def supports_thinking_modes(tokenizer) -> bool:
    """True when the model's chat template understands SmolLM3's ``/think`` and ``/no_think`` switches."""
    text = _template_text(tokenizer)
    return "/no_think" in text and "/think" in text


def _check_messages(messages: list[dict]) -> None:
    if not messages:
        raise ChatError("There is nothing to answer yet: type a message first.")
    for number, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ChatError(
                f"Message {number} needs a 'role' and a 'content', e.g. {{'role': 'user', 'content': 'Hi'}}."
            )
    if messages[-1]["role"] != "user":
        raise ChatError(f"The last message must come from the user (it is from '{messages[-1]['role']}').")


def prepare_messages(messages: list[dict], settings: GenerationSettings, tokenizer) -> list[dict]:
    """The conversation as the model will see it: the settings' system prompt and thinking switch applied.

    A system prompt in ``settings`` replaces one already in ``messages``.
    Returns new dicts; the input is not changed.

    >>> prepare_messages([{"role": "user", "content": "Hi"}], GenerationSettings(system_prompt="Be brief."), None)
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    _check_messages(messages)
    conversation = [{"role": m["role"], "content": m["content"]} for m in messages]
    system = conversation[0]["content"] if conversation[0]["role"] == "system" else None
    if conversation[0]["role"] == "system":
        conversation = conversation[1:]
    if settings.system_prompt.strip():
        system = settings.system_prompt.strip()
    if settings.thinking and tokenizer is not None and supports_thinking_modes(tokenizer):
        system = f"{system or ''} /{settings.thinking}".strip()
    return ([{"role": "system", "content": system}] if system is not None else []) + conversation


def render_prompt(tokenizer, messages: list[dict], settings: GenerationSettings) -> str:
    """The exact text the model continues from, rendered with the model's own chat template."""
    if not _template_text(tokenizer):
        raise ChatError("This model has no chat template, so it can't chat. Pick an instruction-tuned model.")
    extra = {}
    if settings.thinking and supports_thinking_modes(tokenizer):
        extra["enable_thinking"] = settings.thinking == "think"
    conversation = prepare_messages(messages, settings, tokenizer)
    return tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True, **extra)


def generation_kwargs(model, tokenizer, settings: GenerationSettings) -> dict[str, Any]:
    """The keyword arguments ``model.generate`` gets for these settings (also recorded by side-by-side runs)."""
    kwargs: dict[str, Any] = {
        "max_new_tokens": settings.max_new_tokens,
        "repetition_penalty": settings.repetition_penalty,
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
    }
    if getattr(model.generation_config, "eos_token_id", None) is None:
        kwargs["eos_token_id"] = tokenizer.eos_token_id
    if settings.deterministic:
        kwargs["do_sample"] = False
    else:
        kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
    return kwargs


def _encode(model, tokenizer, messages: list[dict], settings: GenerationSettings) -> dict:
    text = render_prompt(tokenizer, messages, settings)
    # The template already wrote the special tokens; adding a BOS again would change the prompt.
    batch = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    return {key: value.to(model.device) for key, value in batch.items()}


def _stopping_criteria(*events: threading.Event | None):
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    watched = [e for e in events if e is not None]

    class StopOnEvent(StoppingCriteria):
        """Ends generation before the next token once any watched event is set (the Stop button)."""

        def __call__(self, input_ids, scores, **kwargs):
            stop = any(event.is_set() for event in watched)
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([StopOnEvent()])


def _generate(model, batch: dict, kwargs: dict, settings: GenerationSettings):
    import torch

    if not settings.deterministic and settings.seed is not None:
        # Sampling draws from torch's global generator: another sampled generation running at the same time
        # in this process can shift it, so a seed reproduces an answer when chats run one after another.
        torch.manual_seed(settings.seed)
    with torch.no_grad():
        return model.generate(**batch, **kwargs)


def _decode_new_tokens(tokenizer, output, prompt_length: int) -> str:
    return tokenizer.decode(output[0, prompt_length:], skip_special_tokens=True)


def chat_once(
    model, tokenizer, messages: list[dict], settings: GenerationSettings | None = None, stop_event=None
) -> str:
    """The model's whole reply to ``messages`` (the last one from the user), without streaming."""
    settings = settings or GenerationSettings()
    batch = _encode(model, tokenizer, messages, settings)
    kwargs = generation_kwargs(model, tokenizer, settings)
    if stop_event is not None:
        kwargs["stopping_criteria"] = _stopping_criteria(stop_event)
    was_training = model.training
    model.eval()
    try:
        output = _generate(model, batch, kwargs, settings)
    finally:
        if was_training:
            model.train()
    return _decode_new_tokens(tokenizer, output, batch["input_ids"].shape[1])


STREAM_EVERY_SECONDS = 0.1
"""A streamed reply shows its new text at most this often (the first token at once): ten updates a second read as
live typing, and waking the reading thread, decoding the text and redrawing the page once per token slowed
generation itself to 0.6x of one ``generate`` call on two cores (bench/bench_generation.py)."""


class TokenCollector:
    """A ``generate`` streamer that only keeps the new token ids: no decoding and no hand-off per token.

    ``model.generate`` calls ``put`` with the prompt first, then with each new token, and ``end`` when it is done,
    all in the generating thread; the reader decodes ``ids`` when it chooses (``stream_chat``).
    """

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.arrived = threading.Event()  # set by each new token and by the end, cleared by the reader
        self.finished = threading.Event()
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:  # the first call is the prompt itself
            self._prompt_seen = True
            return
        self.ids.extend(value.reshape(-1).tolist())
        self.arrived.set()

    def end(self) -> None:
        self.finished.set()
        self.arrived.set()


def _partial_text(tokenizer, ids: list[int]) -> str:
    """The reply so far; a character whose bytes are not all generated yet (shown as U+FFFD) waits for the rest."""
    return tokenizer.decode(ids, skip_special_tokens=True).rstrip("\ufffd")


def stream_chat(
    model,
    tokenizer,
    messages: list[dict],
    settings: GenerationSettings | None = None,
    stop_event: threading.Event | None = None,
    every: float = STREAM_EVERY_SECONDS,
) -> Iterator[str]:
    """Yield the reply so far, growing piece by piece; the last value is the whole reply.

    The first text comes as soon as the first token is generated, then at most one new value every ``every``
    seconds, each the whole reply so far decoded afresh (so it reads as ``chat_once``'s text would at that token).
    Setting ``stop_event`` (or closing this generator) ends generation before the next token; the text
    produced until then is the last value yielded. Errors inside generation are raised here, in the caller's thread.
    """
    settings = settings or GenerationSettings()
    batch = _encode(model, tokenizer, messages, settings)
    abandoned = threading.Event()  # set when the caller stops reading, so the thread does not run on
    collector = TokenCollector()
    kwargs = generation_kwargs(model, tokenizer, settings)
    kwargs.update(streamer=collector, stopping_criteria=_stopping_criteria(stop_event, abandoned))
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["output"] = _generate(model, batch, kwargs, settings)
        except BaseException as err:  # handed to the caller's thread below
            outcome["error"] = err
        finally:
            collector.end()  # unblock the reader

    model.eval()
    thread = threading.Thread(target=work, name="stream-chat", daemon=True)
    thread.start()
    text, shown = "", 0
    try:
        while True:
            collector.arrived.wait()
            collector.arrived.clear()  # before reading the count: a token arriving now sets it again
            done, count = collector.finished.is_set(), len(collector.ids)
            if count > shown and not done:  # the end's own text is decoded below, as chat_once does
                shown, latest = count, _partial_text(tokenizer, collector.ids[:count])
                if latest and latest != text:
                    text = latest
                    yield text
            if done:
                break
            collector.finished.wait(every)  # the next update no sooner than this; the end comes at once
    finally:
        abandoned.set()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    # The final answer is decoded from generate's output in one go, exactly as chat_once does.
    final = _decode_new_tokens(tokenizer, outcome["output"], batch["input_ids"].shape[1])
    if final != text or not text:
        yield final
