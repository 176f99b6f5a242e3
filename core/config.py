"""The run configuration: ``RunConfig``, what a person is told about each field, and its validation.

``RunConfig`` holds everything a training run needs, validated when it is
created. Each field carries its label and help as metadata, the way TRL's
``SFTConfig`` does (``field(metadata={"help": ...})``): the Settings step
builds its fields from them (``describe_field``) and every validation error
names the field by the same label and says how to fix it. What a RunConfig
becomes for TRL and PEFT is worked out in ``core/trl_args.py``.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.device import DeviceInfo
from core.models.catalog import OFFLINE_MODEL_ID
from core.sources import SOURCES
from core.trl_args import SFT_ARGUMENTS_FROM_SETTINGS, SFT_ARGUMENTS_FROM_THE_APP, sft_argument_names

# The choices of the two settings that pick among names: {value: what the page calls it}.
METHOD_LABELS = {"lora": "LoRA", "qlora": "QLoRA (4-bit base)", "full": "Full fine-tune"}
LORA_TARGET_LABELS = {"all-linear": "All linear layers", "attention": "Attention only"}
METHODS = tuple(METHOD_LABELS)
LORA_TARGETS = tuple(LORA_TARGET_LABELS)
MAX_OWN_PROBES = 5  # each probe costs a generation at every sampling step (bench/bench_generation.py)
FINAL_EVAL_ROWS = 512
"""The last evaluation of a run uses every validation row up to this many; those between use ``max_eval_rows``."""
TRL_SFT_DOCS = SOURCES["trl_sft"].url


class ConfigError(ValueError):
    """A setting is out of range; the message names the field and the fix."""


@dataclass
class RunConfig:
    """Everything one training run needs. Defaults are the Quick demo preset.

    ``metadata`` holds what a person is told about each field: ``label`` (its
    name on the page and in errors), ``help`` (what it does, in a sentence or
    two; the preset cards carry the advice and its sources) and, for the
    settings that pick among names, ``choices`` ({value: label}).
    """

    model_id: str = field(
        default=OFFLINE_MODEL_ID,
        metadata={
            "label": "Model",
            "help": "Offline models work without internet; Hub models need it. You can also type a local model "
            "folder.",
        },
    )
    dataset: str = field(
        default="json_extraction",
        metadata={
            "label": "Dataset",
            "help": "A built-in demo dataset, or your own rows (a folder or JSONL file in one of TRL's formats) "
            "loaded in the Data step.",
        },
    )
    method: str = field(
        default="lora",
        metadata={
            "label": "Method",
            "help": "LoRA trains small adapters; QLoRA also loads the base in 4-bit (CUDA GPU only); full trains all.",
            "choices": METHOD_LABELS,
        },
    )
    learning_rate: float = field(
        default=1e-3,
        metadata={
            "label": "Learning rate",
            "help": "How big each update is, at its peak after warmup. Too high: the loss jumps or explodes; too "
            "low: it falls slowly.",
        },
    )
    per_device_batch_size: int = field(
        default=4,
        metadata={
            "label": "Batch size per step",
            "help": "Rows in one forward pass; lower it first when memory runs out.",
        },
    )
    gradient_accumulation_steps: int = field(
        default=1,
        metadata={
            "label": "Gradient accumulation",
            "help": "Forward passes added up before each update: effective batch = batch size per step x this.",
        },
    )
    max_length: int = field(
        default=512,
        metadata={
            "label": "Max length (tokens)",
            "help": "The longest row the model trains on; longer rows are cut to this length (TRL keeps the start).",
        },
    )
    packing: bool = field(
        default=False,
        metadata={
            "label": "Pack text into blocks",
            "help": "For documents of plain text: they are joined and cut into blocks of Max length tokens, every "
            "token trained (TRL's packing, 'wrapped'). The Data step turns it on for documents.",
        },
    )
    max_steps: int = field(
        default=60,
        metadata={
            "label": "Training steps",
            "help": "How many updates to make, each from one effective batch (batch size per step x gradient "
            "accumulation).",
        },
    )
    num_epochs: float = field(
        default=1.0,
        metadata={
            "label": "Epochs",
            "help": "Passes over the training data. Used only when Training steps is -1 (a script can set that).",
        },
    )
    warmup_ratio: float = field(
        default=0.1,  # ~10% of the steps: sft-facts §3
        metadata={
            "label": "Warmup ratio",
            "help": "Share of the steps spent ramping the learning rate up to its peak; about 0.1 is usual.",
        },
    )
    lora_r: int = field(
        default=16,  # sft-facts §3: 16 to start, 32 or 64 if underfitting
        metadata={
            "label": "LoRA rank r",
            "help": "Size of the adapters, so how much they can learn: 16 to start, 32 or 64 if the model underfits.",
        },
    )
    lora_alpha: int = field(
        default=32,  # sft-facts §3: 2 x rank
        metadata={"label": "LoRA alpha", "help": "How strongly the adapters count; usually 2 x rank."},
    )
    lora_dropout: float = field(
        default=0.0,  # sft-facts §3
        metadata={
            "label": "LoRA dropout",
            "help": "Share of the adapters' inputs dropped at random while training; usually 0.0.",
        },
    )
    lora_target: str = field(
        default="all-linear",
        metadata={
            "label": "LoRA targets",
            "help": "Which layers get adapters: all linear layers (more capacity) or the attention projections "
            "(q/k/v/o) only.",
            "choices": LORA_TARGET_LABELS,
        },
    )
    gradient_checkpointing: bool = field(
        default=False,  # ~20% slower: sft-facts §7
        metadata={
            "label": "Gradient checkpointing",
            "help": "Recompute activations in the backward pass instead of keeping them: far less activation "
            "memory, about 20% slower. Only worth it when memory is short.",
        },
    )
    logging_steps: int = field(
        default=1,
        metadata={
            "label": "Log every (steps)",
            "help": "How often the loss is recorded; 1 keeps the live curve smooth.",
        },
    )
    sample_every: int = field(
        default=20,
        metadata={
            "label": "Sample answers every (steps)",
            "help": "How often the model answers the test prompts while it trains; 0 = only at the start and end.",
        },
    )
    sample_max_new_tokens: int = field(
        default=64,
        metadata={
            "label": "Answer length (tokens)",
            "help": "The most tokens in each test-prompt answer, so sampling stays a small share of training time.",
        },
    )
    num_probe_prompts: int = field(
        default=3,
        metadata={
            "label": "Held-out test prompts",
            "help": "How many prompts from the validation rows the model answers while it trains (0 to 10).",
        },
    )
    probe_prompts: list[str] = field(
        default_factory=list,
        metadata={
            "label": "Your own test prompts",
            "help": f"Up to {MAX_OWN_PROBES} prompts of your own, answered after the held-out ones while the model "
            "trains; they have no expected answer.",
        },
    )
    save_steps: int = field(
        default=20,
        metadata={
            "label": "Checkpoint every (steps)",
            "help": "How often a checkpoint you can resume from is saved; 0 = none (Stop always saves one).",
        },
    )
    eval_steps: int = field(
        default=20,
        metadata={
            "label": "Evaluate every (steps)",
            "help": "How often the loss on the validation rows is measured; 0 = never.",
        },
    )
    max_eval_rows: int = field(
        default=32,
        metadata={
            "label": "Validation rows per evaluation",
            "help": "Validation rows each evaluation uses, so evaluating stays a small share of training time.",
        },
    )
    early_stopping_patience: int = field(
        default=0,
        metadata={
            "label": "Early stopping patience",
            "help": "Stop when the validation loss has not improved for this many evaluations; 0 = off.",
        },
    )
    seed: int = field(
        default=42,
        metadata={
            "label": "Seed",
            "help": "Fixes the random choices (data order, LoRA's starting weights, the validation split), so a run "
            "can be repeated.",
        },
    )
    extra: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "label": "More SFTConfig options",
            "help": "Other trl.SFTConfig arguments by name for scripts and experiments, e.g. {'packing': True}: "
            f"real SFTConfig fields ({TRL_SFT_DOCS}) that the app does not set itself, with plain values.",
        },
    )

    def __post_init__(self) -> None:
        def fail(name: str, fix: str) -> None:
            raise ConfigError(f"{field_label(name)} ({name}) = {getattr(self, name)!r} is not valid: {fix}")

        if not str(self.model_id).strip():
            fail("model_id", f"pick a model, e.g. '{OFFLINE_MODEL_ID}'.")
        if not str(self.dataset).strip():
            fail("dataset", "pick a built-in demo dataset or load your own.")
        if self.method not in METHODS:
            fail("method", f"use one of {', '.join(METHODS)}.")
        if not (0 < self.learning_rate < 1):
            fail("learning_rate", "use a positive value below 1, typically 1e-5 to 1e-3.")
        for name in ("per_device_batch_size", "gradient_accumulation_steps", "logging_steps"):
            if int(getattr(self, name)) < 1:
                fail(name, "use a whole number of at least 1.")
        if self.max_length < 16:
            fail("max_length", "use at least 16 tokens; 512-2048 is typical.")
        if self.max_steps == 0 or self.max_steps < -1:
            fail("max_steps", "use a positive number of steps, or -1 to train for Epochs instead.")
        if self.max_steps == -1 and self.num_epochs <= 0:
            fail("num_epochs", "use a positive number of epochs (2-5 is typical).")
        if not (0 <= self.warmup_ratio < 1):
            fail("warmup_ratio", "use a fraction between 0 and 1, e.g. 0.1.")
        if self.method != "full":
            if self.lora_r < 1:
                fail("lora_r", "use a rank of at least 1; 16 is a good start.")
            if self.lora_alpha < 1:
                fail("lora_alpha", "use a positive value; 2 x rank is the usual choice.")
            if not (0 <= self.lora_dropout < 1):
                fail("lora_dropout", "use a fraction between 0 and 1; 0.0 is the usual choice.")
            if self.lora_target not in LORA_TARGETS:
                fail("lora_target", f"use one of {', '.join(LORA_TARGETS)}.")
        for name in ("sample_every", "save_steps", "eval_steps", "max_eval_rows", "early_stopping_patience"):
            if getattr(self, name) < 0:
                fail(name, "use 0 (off) or a positive number of steps.")
        if self.early_stopping_patience and not self.eval_steps:
            fail(
                "early_stopping_patience",
                f"early stopping needs evaluations: set {field_label('eval_steps')} above 0.",
            )
        if not (1 <= self.sample_max_new_tokens <= 1024):
            fail("sample_max_new_tokens", "use between 1 and 1024 tokens.")
        if not (0 <= self.num_probe_prompts <= 10):
            fail("num_probe_prompts", "use between 0 and 10 prompts.")
        if not isinstance(self.probe_prompts, list) or not all(isinstance(p, str) for p in self.probe_prompts):
            fail("probe_prompts", "use a list of prompts as text, one per line in the page.")
        if len(self.probe_prompts) > MAX_OWN_PROBES or any(not p.strip() for p in self.probe_prompts):
            fail("probe_prompts", f"use at most {MAX_OWN_PROBES} prompts, none of them empty.")
        if any(len(p) > 2000 for p in self.probe_prompts):
            fail("probe_prompts", "use prompts under 2,000 characters each.")
        problem = _extra_problem(self.extra)
        if problem:
            fail("extra", problem)

    @property
    def effective_batch_size(self) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps

    @property
    def uses_peft(self) -> bool:
        return self.method in ("lora", "qlora")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Build from a dict, naming any key that is not a setting."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(unknown)}. Known settings: {', '.join(sorted(known))}.")
        return cls(**values)

    def check_device(self, device: DeviceInfo) -> None:
        """Raise when the configuration cannot run on ``device`` (e.g. QLoRA without CUDA)."""
        if self.method == "qlora" and not device.is_cuda:
            raise ConfigError(
                f"{field_label('method')} (method) = 'qlora' is not valid here: QLoRA's 4-bit base model needs "
                f"bitsandbytes and a CUDA GPU, and this machine has {device.describe()}. Use 'lora' instead."
            )


@dataclass(frozen=True)
class FieldInfo:
    """What a person is told about one ``RunConfig`` field, read from its metadata."""

    name: str
    label: str
    help: str
    kind: str  # how it is typed in: "int", "float", "bool", "choice", "text", "lines" (list of text) or "mapping"
    choices: dict[str, str] = field(default_factory=dict)  # {value: label}, for kind "choice"


_KINDS = {int: "int", float: "float", bool: "bool", str: "text", list: "lines", dict: "mapping"}


@functools.cache
def describe_fields() -> types.MappingProxyType[str, FieldInfo]:
    """Every ``RunConfig`` field's label, help and kind, in the order they are declared (read-only)."""
    hints = typing.get_type_hints(RunConfig)
    described = {}
    for f in fields(RunConfig):
        kind = _KINDS[typing.get_origin(hints[f.name]) or hints[f.name]]
        choices = dict(f.metadata.get("choices", {}))
        label, help_text = f.metadata["label"], f.metadata["help"]
        described[f.name] = FieldInfo(f.name, label, help_text, "choice" if choices else kind, choices)
    return types.MappingProxyType(described)


def describe_field(name: str) -> FieldInfo:
    """Label, help and kind of the ``RunConfig`` field ``name``, for the page and for error messages."""
    return describe_fields()[name]


def field_label(name: str) -> str:
    """What the page calls the ``RunConfig`` field ``name``, e.g. "Learning rate" for ``learning_rate``."""
    return describe_field(name).label


def _refused_extra(name: str) -> str:
    """Why ``extra`` may not set the SFTConfig argument ``name``, or "" if it may."""
    if name in SFT_ARGUMENTS_FROM_SETTINGS:
        setting = SFT_ARGUMENTS_FROM_SETTINGS[name]
        return f"it comes from the setting {field_label(setting)} ({setting}): change that setting instead"
    if name in SFT_ARGUMENTS_FROM_THE_APP:
        return "the app sets it for every run (core/trl_args.build_sft_config)"
    if name.startswith(("hub_", "push_to_hub", "trackio_")):  # the Hub has one door, core/hub.py
        return "it would upload while training; share a finished run from the Try it step's Share tab instead"
    return ""


def _extra_problem(extra: Any) -> str:
    """The fix for a bad ``RunConfig.extra``, or "" when every entry can go to ``trl.SFTConfig`` as it is."""
    if not isinstance(extra, dict):
        return "use a mapping of trl.SFTConfig argument names to values, e.g. {'packing': True}."
    for name, value in extra.items():
        if not isinstance(name, str):
            return f"{name!r} is not a name: use trl.SFTConfig argument names as text."
        refused = _refused_extra(name)
        if refused:
            return f"'{name}' can't be set here: {refused}."
        if value is not None and not isinstance(value, str | int | float | bool):
            return f"'{name}' must be a plain number, text, True/False or None, not a {type(value).__name__}."
    for name in extra:
        if name not in sft_argument_names():
            close = difflib.get_close_matches(name, sft_argument_names(), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            return f"'{name}' is not a trl.SFTConfig argument; check the name in TRL's docs ({TRL_SFT_DOCS}).{hint}"
    return ""
