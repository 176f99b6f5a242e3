"""The public pages behind every figure the app gives as advice, each held once: its name, address and what it is.

Advice in ``core/`` names its source in words with ``cite`` (the names below, verbatim), and the UI turns
those words into links with ``link_sources_html`` (or ``source_html`` / ``source_markdown`` from keys), so a
person can open every page the app relies on. Figures the app measured itself say so in words instead
("measured with this app on a 2-core CPU"): there is no page to open for them.

Every address here was checked before it was added (see the commit that adds it); tests/test_sources.py holds
them to https on the hosts in ``ALLOWED_HOSTS``.

>>> cite("training_hub", "tinker_lr")
"Training Hub's hyperparameter guide; Tinker's learning-rate guidance"
>>> source_markdown("trl_sft")
"— source: [TRL's SFTTrainer docs](https://huggingface.co/docs/trl/sft_trainer)"
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One public page the app cites."""

    name: str
    """How the page names it, in words; unique, and never part of another source's name."""
    url: str
    about: str
    """What it is, in one line for someone who has never heard of it (the link's hover text)."""


SOURCES: dict[str, Source] = {
    "llm_course": Source(
        "Hugging Face LLM course, SFT chapter",
        "https://huggingface.co/learn/llm-course/en/chapter11/3",
        "Hugging Face's free course; its supervised fine-tuning chapter trains SmolLM3 with TRL and covers when to "
        "fine-tune, how much data, the learning rate and how to read the loss.",
    ),
    "smol_course": Source(
        "smol course, SFT with SmolLM3",
        "https://huggingface.co/learn/smol-course/unit1/3",
        "Hugging Face's hands-on course for small models; this unit fine-tunes SmolLM3 and gives its learning-rate "
        "and batch presets.",
    ),
    "trl_sft": Source(
        "TRL's SFTTrainer docs",
        "https://huggingface.co/docs/trl/sft_trainer",
        "The documentation of TRL's SFTTrainer, the trainer this app runs: its settings, loss masking and defaults.",
    ),
    "trl_formats": Source(
        "TRL's dataset formats",
        "https://huggingface.co/docs/trl/dataset_formats",
        "The row shapes TRL's trainers accept: plain text, prompt-completion and conversations.",
    ),
    "training_hub": Source(
        "Training Hub's hyperparameter guide",
        "https://ai-innovation.team/training_hub/#/",
        "The docs of Training Hub, the Red Hat AI Innovation Team's open training library: learning rates, batch "
        "sizes, epochs and max length by data size.",
    ),
    "training_hub_sft": Source(
        "Training Hub's SFT page",
        "https://ai-innovation.team/training_hub/#/algorithms/sft",
        "Training Hub's page on supervised fine-tuning, including its pretraining mode for raw documents.",
    ),
    "tinker_lr": Source(
        "Tinker's learning-rate guidance",
        "https://tinker-docs.thinkingmachines.ai/tinker/learning-rate-guidance/",
        "Thinking Machines' fine-tuning service Tinker explains how it picks a learning rate, batch size and step "
        "count, from sweeps over many training runs.",
    ),
    "tinker_get_lr": Source(
        "Tinker cookbook's get_lr",
        "https://tinker-docs.thinkingmachines.ai/cookbook/api-reference/hyperparam_utils/get_lr",
        "The function in Tinker's open cookbook that returns a recommended LoRA learning rate for a named model.",
    ),
    "smol_playbook": Source(
        "Smol Training Playbook",
        "https://huggingface.co/spaces/HuggingFaceTB/smol-training-playbook",
        "Hugging Face's long write-up of how SmolLM3 was trained, mistakes included: loss masking, checking "
        "rendered samples by eye, GPU throughput.",
    ),
    "smollm3_card": Source(
        "SmolLM3 model card",
        "https://huggingface.co/HuggingFaceTB/SmolLM3-3B",
        "The model page of SmolLM3-3B, including how its /think and /no_think reasoning modes are switched.",
    ),
    "qwen3_card": Source(
        "Qwen3 model card",
        "https://huggingface.co/Qwen/Qwen3-8B",
        "The model page of Qwen3-8B, including its enable_thinking switch for reasoning.",
    ),
    "cuda_compat": Source(
        "NVIDIA's CUDA compatibility guide",
        "https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html",
        "NVIDIA's table of the driver versions that run programs built for each CUDA version (12.x: 525 on).",
    ),
}
ALLOWED_HOSTS = ("huggingface.co", "ai-innovation.team", "tinker-docs.thinkingmachines.ai", "docs.nvidia.com")


def cite(*keys: str) -> str:
    """The sources' names in words, for a sentence or a "Source:" line built in ``core/``."""
    return "; ".join(SOURCES[key].name for key in keys)


def _anchor(source: Source) -> str:
    title = html.escape(source.about, quote=True)
    return f"<a href='{source.url}' target='_blank' rel='noopener' title='{title}'>{html.escape(source.name)}</a>"


def source_html(*keys: str) -> str:
    """ "— source: <a …>name</a>" for the given sources, every one a link that opens in a new tab."""
    return "— source: " + ", ".join(_anchor(SOURCES[key]) for key in keys)


def source_markdown(*keys: str) -> str:
    """The Markdown twin of ``source_html``."""
    return "— source: " + ", ".join(f"[{SOURCES[key].name}]({SOURCES[key].url})" for key in keys)


_BY_NAME = {source.name: source for source in SOURCES.values()}
NAME_PATTERN = re.compile("|".join(re.escape(name) for name in sorted(_BY_NAME, key=len, reverse=True)))
"""Any source's name as ``cite`` writes it (longest first, so no name is cut short by another)."""


def named_source_anchor(name: str) -> str:
    """The link for a source given by its name (a ``NAME_PATTERN`` match)."""
    return _anchor(_BY_NAME[name])


def link_sources_html(text: str, escape=html.escape) -> str:
    """``text`` with every source named in it (as ``cite`` writes it) turned into its link; the rest goes through
    ``escape`` (HTML-escaping by default; core/glossary.annotate_html also explains terms there).

    >>> link_sources_html("TRL's SFTTrainer docs: loss masking").startswith("<a href='https://huggingface.co/docs")
    True
    >>> link_sources_html("a <b>")
    'a &lt;b&gt;'
    """
    parts, last = [], 0
    for match in NAME_PATTERN.finditer(text):
        parts += [escape(text[last : match.start()]), named_source_anchor(match.group(0))]
        last = match.end()
    return "".join([*parts, escape(text[last:])])


def link_sources_markdown(text: str) -> str:
    """``text`` with every source named in it turned into a Markdown link."""
    return NAME_PATTERN.sub(lambda match: f"[{match.group(0)}]({_BY_NAME[match.group(0)].url})", text)
