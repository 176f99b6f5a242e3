"""Per-message training marks: OpenAI's ``weight: 0``, ``loss_weight`` and ``train: false`` on assistant turns.

Such a mark says "keep this answer as context, don't learn it". TRL's loss masks work per format, not per
message, so the marks are honoured through the prompt-completion split: the conversation is cut after
its last answer marked for training, that answer is the completion (the only tokens with loss) and every
turn before it, marked or not, is the prompt. Earlier answers marked for training are then context too:
the conversion counts them, so nothing is lost without a word. With the 'messages' format every token
(or every assistant turn) is trained and the marks are ignored; the conversion says so.
"""

from __future__ import annotations

WEIGHT_KEYS = ("weight", "loss_weight", "train", "trainable")
_OFF = (0, 0.0, False, "0", "false", "False", "no")


def _role(turn: dict) -> object:
    return turn.get("role", turn.get("from"))


def _is_answer(turn: object) -> bool:
    return isinstance(turn, dict) and _role(turn) in ("assistant", "gpt", "model", "bot")


def marked(turn: object) -> bool:
    """Whether a message carries a training mark.

    >>> marked({"role": "assistant", "content": "Hi", "weight": 0}), marked({"role": "user", "content": "Hi"})
    (True, False)
    """
    return isinstance(turn, dict) and any(key in turn for key in WEIGHT_KEYS)


def is_trained(turn: dict) -> bool:
    """False when a mark says the message is not trained (weight 0, train false).

    >>> is_trained({"weight": 0}), is_trained({"loss_weight": 1.0}), is_trained({})
    (False, True, True)
    """
    return not any(turn.get(key) in _OFF for key in WEIGHT_KEYS if key in turn)


def has_marks(turns: object) -> bool:
    """Whether any answer in a list of turns carries a training mark."""
    return isinstance(turns, list) and any(_is_answer(t) and marked(t) for t in turns)


def cut_at_last_trained(turns: list) -> tuple[list | None, int, int]:
    """(turns up to the last answer marked for training, earlier trained answers kept as context, answers not
    trained); None instead of the turns when no answer is marked for training (the row has nothing to learn).

    >>> turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0},
    ...          {"role": "user", "content": "c"}, {"role": "assistant", "content": "d", "weight": 1}]
    >>> cut, context, untrained = cut_at_last_trained(turns)
    >>> len(cut), context, untrained
    (4, 0, 1)
    """
    trained = [i for i, t in enumerate(turns) if _is_answer(t) and is_trained(t)]
    untrained = sum(1 for t in turns if _is_answer(t) and not is_trained(t))
    if not trained:
        return None, 0, untrained
    last = trained[-1]
    return turns[: last + 1], len(trained) - 1, untrained
