"""Sharing a result: merge a LoRA adapter into its base, write a model card, push to the Hugging Face Hub.

- ``core/share/merge.py``: fold an adapter into its base weights (a plain model folder).
- ``core/share/card.py``: the model card (data, settings, loss curve, scores, votes).
- ``core/share/push.py``: the upload folder and the push, through the Hub's one door (``core/hub.py``).

The token comes from the caller (the page's password field) or ``HF_TOKEN``/a saved login (``core/hub.py``).
It is passed to ``huggingface_hub`` per call and nowhere else: never logged, never written to a file (not
even the upload folder), and scrubbed from any error message shown to the user.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


class ShareError(RuntimeError):
    """Sharing can't go ahead; the message says why and what to do (it never contains the token)."""
