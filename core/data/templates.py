"""What the chat template does to a training row, and what to do when it can't mark the assistant's turns.

TRL's ``assistant_only_loss`` needs a template with ``{% generation %}``
markers. SmolLM2's ChatML template has none, and TRL 1.16 raises "The chat
template is not training-compatible" when training starts (sft-facts §2, §7).
``assistant_only_loss_support`` says so before Start and offers what works:
converting to conversational prompt-completion, or ``SMOLLM2_TRAINING_TEMPLATE``
(a copy of the template with the markers that renders exactly the same text),
passed to the trainer as a ``.jinja`` file with ``chat_template_path``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.ml_stack import import_training_stack

# SmolLM2-Instruct's chat template, as shipped (ChatML with a default system prompt).
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# The same template with {% generation %} around each assistant answer and its <|im_end|>, so TRL can put the loss
# on the assistant's turns only (sft-facts §7). It renders byte-for-byte the same text (tests/test_data_preview.py);
# the newline after <|im_end|> stays outside: the model stops at <|im_end|>, so that token is what it must learn.
SMOLLM2_TRAINING_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _template_text(template: str | dict | None) -> str:
    if isinstance(template, dict):
        return template.get("default", "")
    return template or ""


def has_generation_markers(template: str | dict | None) -> bool:
    """Whether a chat template marks the assistant's turns with ``{% generation %}`` (TRL's own check).

    >>> has_generation_markers(SMOLLM2_TRAINING_TEMPLATE), has_generation_markers(SMOLLM2_CHAT_TEMPLATE)
    (True, False)
    """
    import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
    from trl.chat_template_utils import has_generation_markers as trl_check

    return trl_check(_template_text(template))


def training_chat_template(tokenizer) -> str | None:
    """A training-compatible version of the tokenizer's template: TRL's for the templates it knows, ours for
    SmolLM2, or None when neither exists (the template then needs editing by hand)."""
    import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
    from trl.chat_template_utils import get_training_chat_template

    template = _template_text(tokenizer.chat_template)
    if has_generation_markers(template):
        return template
    if template.strip() == SMOLLM2_CHAT_TEMPLATE.strip():
        return SMOLLM2_TRAINING_TEMPLATE
    try:
        return get_training_chat_template(tokenizer)
    except ValueError:
        return None


def write_chat_template(template: str, folder: str | Path, name: str = "chat_template_training.jinja") -> Path:
    """Save a template as a ``.jinja`` file for ``SFTConfig(chat_template_path=...)`` and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(template, encoding="utf-8")
    return path


@dataclass(frozen=True)
class AssistantOnlyAdvice:
    """Whether loss on the assistant's turns only works with this template, and what to do if not."""

    works_as_is: bool
    """True when TRL can train with ``assistant_only_loss=True`` and this tokenizer unchanged."""
    explanation: str
    training_template: str | None = None
    """A training-compatible template to pass with ``chat_template_path`` (None when none is known)."""
    options: list[str] = field(default_factory=list)
    """What the user can do instead, as sentences (for buttons or a list)."""


def assistant_only_loss_support(tokenizer) -> AssistantOnlyAdvice:
    """Check, before Start, whether ``assistant_only_loss=True`` will work with this tokenizer's chat template."""
    import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
    from trl.chat_template_utils import get_training_chat_template, is_chat_template_stop_token_trained

    template = _template_text(tokenizer.chat_template)
    if not template:
        return AssistantOnlyAdvice(
            False,
            "This tokenizer has no chat template, so conversational data can't be trained with it. "
            "Pick an instruction-tuned model, or use plain text / prompt-completion data.",
        )
    if has_generation_markers(template):
        if is_chat_template_stop_token_trained(tokenizer):
            return AssistantOnlyAdvice(True, "The chat template marks the assistant's turns: loss on them works.")
        return AssistantOnlyAdvice(
            True,
            "The chat template marks the assistant's turns, but leaves their end-of-turn token out of the loss: "
            "the model may not learn to stop. Check the preview.",
        )
    try:
        get_training_chat_template(tokenizer)
        return AssistantOnlyAdvice(
            True, "TRL knows a training version of this chat template and swaps it in by itself; nothing to do."
        )
    except ValueError:
        pass
    ours = SMOLLM2_TRAINING_TEMPLATE if template.strip() == SMOLLM2_CHAT_TEMPLATE.strip() else None
    options = [
        "Convert the data to conversational prompt-completion: the loss then falls on the final answer of each "
        "conversation (earlier assistant turns become context), with no template change.",
    ]
    if ours:
        options.append(
            "Train with a copy of the chat template that marks the assistant's turns with {% generation %}: it "
            "renders exactly the same text. The app saves it as a .jinja file and passes it as chat_template_path."
        )
    else:
        options.append(
            "Edit a copy of the chat template: wrap each assistant message and its end-of-turn token in "
            "{% generation %}...{% endgeneration %}, and pass it as chat_template_path."
        )
    options.append("Or train on every token (assistant_only_loss off): prompts are learned too.")
    return AssistantOnlyAdvice(
        False,
        "This model's chat template has no {% generation %} markers, so TRL can't tell which tokens are the "
        "assistant's: with 'loss on assistant turns only' it stops at Start with \"The chat template is not "
        'training-compatible".',
        ours,
        options,
    )


def default_system_prompt(tokenizer, chat_template: str | None = None) -> str | None:
    """The system prompt the template adds to conversations that have none (SmolLM2 adds one), or None.

    Found by rendering a conversation with and without a marker system message
    and comparing: whatever stands where the marker was is the default.
    """
    marker, question = "\x01SYSTEM\x01", "\x01QUESTION\x01"
    try:
        plain = tokenizer.apply_chat_template(
            [{"role": "user", "content": question}], tokenize=False, chat_template=chat_template
        )
        marked = tokenizer.apply_chat_template(
            [{"role": "system", "content": marker}, {"role": "user", "content": question}],
            tokenize=False,
            chat_template=chat_template,
        )
    except Exception:  # a template that refuses these conversations has no default we can find
        return None
    before, _, after = marked.partition(marker)
    if not plain.startswith(before) or not plain.endswith(after) or len(plain) <= len(before) + len(after):
        return None
    default = plain[len(before) : len(plain) - len(after)]
    return default or None
