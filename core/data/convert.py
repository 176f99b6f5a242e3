"""Small pure functions that turn one example into one of TRL's formats.

Each takes one row and returns a new dict (the input is never mutated), in
the style of TRL's ``data_utils.py``; ``datasets.map`` applies them at scale.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnMapping:
    """Which of the user's columns play which part in a training example."""

    prompt: str
    completion: str
    system: str | None = None
    reasoning: str | None = None
    context: str | None = None


def wrap_reasoning(reasoning: str, answer: str) -> str:
    """Put the reasoning before the answer inside ``<think>`` tags (sft-facts §2).

    >>> wrap_reasoning("2 + 2 is 4.", "The answer is 4.")
    '<think>\\n2 + 2 is 4.\\n</think>\\nThe answer is 4.'
    """
    return f"<think>\n{reasoning.strip()}\n</think>\n{answer.strip()}"


def to_conversational_prompt_completion(row: dict, mapping: ColumnMapping) -> dict:
    """Map arbitrary columns into TRL's conversational prompt-completion format.

    Loss then falls on the completion (the assistant answer) only, which is
    TRL's default for prompt-completion data (sft-facts §2).

    >>> row = {"Question": "What is 2 + 2?", "Complex_CoT": "Add them.", "Response": "4"}
    >>> out = to_conversational_prompt_completion(row, ColumnMapping("Question", "Response", reasoning="Complex_CoT"))
    >>> out["prompt"]
    [{'role': 'user', 'content': 'What is 2 + 2?'}]
    >>> out["completion"][0]["content"]
    '<think>\\nAdd them.\\n</think>\\n4'
    """
    user = str(row[mapping.prompt]).strip()
    if mapping.context and str(row.get(mapping.context) or "").strip():
        user = f"{user}\n\n{str(row[mapping.context]).strip()}"
    answer = str(row[mapping.completion]).strip()
    if mapping.reasoning and str(row.get(mapping.reasoning) or "").strip():
        answer = wrap_reasoning(str(row[mapping.reasoning]), answer)
    prompt = []
    if mapping.system and str(row.get(mapping.system) or "").strip():
        prompt.append({"role": "system", "content": str(row[mapping.system]).strip()})
    prompt.append({"role": "user", "content": user})
    return {"prompt": prompt, "completion": [{"role": "assistant", "content": answer}]}


def prompt_messages(row: dict) -> list[dict]:
    """The messages a model sees before it answers, for a conversational row.

    For ``messages`` rows that is everything before the last assistant turn;
    for prompt-completion rows it is the prompt.

    >>> prompt_messages({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})
    [{'role': 'user', 'content': 'Hi'}]
    """
    if "messages" in row:
        messages = list(row["messages"])
        last_assistant = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
        return messages[:last_assistant]
    if "prompt" in row and isinstance(row["prompt"], list):
        return list(row["prompt"])
    raise ValueError("This row is not conversational: it has neither 'messages' nor a list 'prompt'.")


def reference_answer(row: dict) -> str:
    """The answer the training data expects for a conversational row."""
    if "messages" in row:
        assistant = [m for m in row["messages"] if m["role"] == "assistant"]
        return assistant[-1]["content"] if assistant else ""
    if "completion" in row:
        completion = row["completion"]
        return completion[-1]["content"] if isinstance(completion, list) else str(completion)
    return ""
