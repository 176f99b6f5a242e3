"""The model card of a shared run: what it was trained on, how, the loss curve, the scores and the votes."""

from __future__ import annotations

import math
import re
from pathlib import Path

from core.models.catalog import (
    OFFLINE_MODEL_ID,
    TINY_MODEL_ID,
    offline_model_dir,
    tiny_model_dir,
)
from core.models.origin import GGUF_SOURCE_REPO, OFFLINE_COPY_DESCRIPTION, OFFLINE_COPY_ID
from core.runs.store import RunFolder

CARD_IMAGE_SVG = "loss_curve.svg"
CARD_IMAGE_PNG = "loss_curve.png"
TRAIN_COLOUR = "#4f46e5"  # the training monitor's colours (core/charts.py)
EVAL_COLOUR = "#f59e0b"


# -- the model card --------------------------------------------------------------------------------------
def _is_hub_id(model_id: str) -> bool:
    """True for 'owner/name' ids that can be linked on the Hub (not local folders, not the tiny test model)."""
    return (
        bool(re.fullmatch(r"[\w.-]+/[\w.-]+", model_id))
        and model_id not in (TINY_MODEL_ID, OFFLINE_COPY_ID)
        and not Path(model_id).exists()
    )


def _points(rows: list[dict], key: str) -> list[tuple[float, float]]:
    return [(float(r["step"]), float(r[key])) for r in rows if key in r and math.isfinite(float(r[key]))]


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def loss_curve_svg(
    train: list[tuple[float, float]],
    evals: list[tuple[float, float]] | None = None,
    width: int = 640,
    height: int = 320,
) -> str:
    """A self-contained SVG line chart of (step, loss) points; no plotting library needed."""
    evals = evals or []
    points = train + evals
    if not points:
        raise ValueError("There are no loss values to draw yet.")
    left, right, top, bottom = 60, 20, 36, 44
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    x0, x1 = (x0 - 1, x1 + 1) if x0 == x1 else (x0, x1)
    pad = (y1 - y0) * 0.05 or 0.5
    y0, y1 = y0 - pad, y1 + pad

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    def line(pts: list[tuple[float, float]], colour: str) -> str:
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">Loss by optimizer step</text>',
    ]
    for y in _ticks(y0, y1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
    for x in _ticks(x0, x1):
        parts.append(f'<text x="{sx(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x:.0f}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">step</text>')
    if train:
        parts.append(line(train, TRAIN_COLOUR))
    if evals:
        parts.append(line(evals, EVAL_COLOUR))
        parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{EVAL_COLOUR}"/>' for x, y in evals]
    legend = [("training loss", TRAIN_COLOUR)] * bool(train) + [("validation loss", EVAL_COLOUR)] * bool(evals)
    for i, (name, colour) in enumerate(legend):
        x = width - right - 240 + i * 120
        parts.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="20">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_loss_curve(run_dir: Path, folder: Path) -> str | None:
    """Draw the run's loss curve into ``folder``; returns the file name, or None when nothing was logged.

    A PNG through matplotlib when it is installed; otherwise an SVG drawn here
    (plotly's image export needs kaleido, which the app does not install).
    """
    run = RunFolder(run_dir)
    train = _points(run.read_rows("metrics").rows, "loss")
    evals = _points(run.read_rows("evals").rows, "eval_loss")
    if not train and not evals:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:
        (folder / CARD_IMAGE_SVG).write_text(loss_curve_svg(train, evals), encoding="utf-8")
        return CARD_IMAGE_SVG
    figure, axes = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    if train:
        axes.plot(*zip(*train, strict=True), color=TRAIN_COLOUR, label="training loss")
    if evals:
        axes.plot(*zip(*evals, strict=True), color=EVAL_COLOUR, marker="o", label="validation loss")
    axes.set_xlabel("step")
    axes.set_title("Loss by optimizer step")
    axes.legend()
    figure.tight_layout()
    figure.savefig(folder / CARD_IMAGE_PNG)
    plt.close(figure)
    return CARD_IMAGE_PNG


def _card_names(run_dir: Path, config: dict) -> dict[str, str]:
    """Readable names for the model refs in the run's votes: the card must not show local paths."""
    names = {}
    base = str(config.get("model_id") or "")
    if base:
        label = f"base model ({base.split('/')[-1]})"
        names[base] = label
        local = {
            OFFLINE_MODEL_ID: offline_model_dir(),
            OFFLINE_COPY_ID: offline_model_dir(),
            TINY_MODEL_ID: tiny_model_dir(),
        }
        local = local.get(base, Path(base))
        names[str(Path(local).expanduser().resolve())] = label  # the picker may hand over the resolved folder
    run = RunFolder(run_dir)
    state = run.read_state() or {}
    if state.get("result_dir"):
        names[str(state["result_dir"])] = "this fine-tuned model"
    for checkpoint in run.checkpoints():
        names[str(checkpoint.path)] = f"checkpoint at step {checkpoint.step}"
    return names


def _dataset_lines(dataset: str) -> list[str]:
    from core.demo_data import DEMO_DATASETS
    from core.evaluate import task_for_dataset

    demo = DEMO_DATASETS.get(task_for_dataset(dataset) or "")  # by its rows: a committed demo is the demo too
    if demo is None:
        return [f"The uploader's own data (`{Path(dataset).name}`), in one of TRL's dataset formats."]
    lines = [
        f"**{demo.title}**, a built-in demo of SFT Coach generated by its own code from a fixed seed "
        "(1,000 training rows, 100 held-out rows). " + demo.description,
        "",
    ]
    if demo.suggested_mapping:
        mapping = demo.suggested_mapping
        how = (
            "columns mapped to TRL's conversational prompt-completion format: "
            f"prompt ← `{mapping['prompt']}`, completion ← `{mapping['completion']}`"
            + (
                f", with `{mapping['reasoning']}` wrapped in `<think>…</think>` before the answer"
                if "reasoning" in mapping
                else ""
            )
        )
    else:
        how = "each conversation split before its answer into TRL's conversational prompt-completion format"
    lines.append(f"Conversion: {how}. The loss falls on the completion only (TRL's default for such data).")
    return lines


def _config_rows(config: dict) -> list[str]:
    rows = ["| setting | value |", "|---|---|"]
    skip = {"model_id", "dataset", "extra"}
    if config.get("method") == "full":
        skip |= {"lora_r", "lora_alpha", "lora_dropout", "lora_target"}
    for key, value in config.items():
        if key not in skip and isinstance(value, int | float | str | bool):
            rows.append(f"| `{key}` | {value} |")
    if config.get("extra"):
        rows.append(f"| `extra` | {', '.join(f'{k}={v}' for k, v in config['extra'].items())} |")
    return rows


def _results_lines(run_dir: Path, image: str | None) -> list[str]:
    from core.diagnosis.facts import loss_facts

    run = RunFolder(run_dir)
    state = run.read_state() or {}
    facts = loss_facts(run.read_rows("metrics").rows, run.read_rows("evals").rows)  # the Train step's numbers
    lines = [f"- Optimizer steps trained: {state.get('step', len(facts.train))}"]
    if facts.latest and facts.lowest:
        (step, last), (low_step, low) = facts.latest, facts.lowest
        lines.append(f"- Final training loss: {last:.4f} (step {step:.0f})")
        lines.append(f"- Lowest training loss: {low:.4f} (step {low_step:.0f})")
    if facts.latest_eval and facts.best_eval:
        (_, last), (low_step, low) = facts.latest_eval, facts.best_eval
        lines.append(f"- Final validation loss: {last:.4f}; lowest {low:.4f} (step {low_step:.0f})")
    runtime = (state.get("summary") or {}).get("train_runtime")
    if runtime:
        lines.append(f"- Training time: {runtime / 60:.1f} minutes")
    if image:
        lines += ["", f"![Training loss by step]({image})"]
    return lines


def _evaluation_lines(run_dir: Path) -> list[str]:
    from core.evaluate import METRIC_NAMES, load_evaluation

    result = load_evaluation(run_dir)
    if result is None:
        return []
    how = (
        f"Greedy answers to the first {result.n} held-out rows, scored automatically."
        if result.kind == "task_scores"
        else f"Loss on the answer tokens of {result.n} held-out rows (lower is better)."
    )
    rows = [how, "", "| metric | base model | this model |", "|---|---|---|"]
    for key, before in result.before.items():
        if key in METRIC_NAMES and key in result.after:
            fmt = "{:.3f}" if key in ("loss", "perplexity") else "{:.0%}"
            rows.append(f"| {METRIC_NAMES[key]} | {fmt.format(before)} | {fmt.format(result.after[key])} |")
    return rows


def _usage_lines(repo_id: str, kind: str) -> list[str]:
    auto = "AutoPeftModelForCausalLM" if kind == "adapter" else "AutoModelForCausalLM"
    package = "peft" if kind == "adapter" else "transformers"
    return [
        "```python",
        f"from {package} import {auto}",
        "from transformers import AutoTokenizer",
        "",
        f'model = {auto}.from_pretrained("{repo_id}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")',
        'messages = [{"role": "user", "content": "Hello!"}]',
        "inputs = tokenizer.apply_chat_template(",
        '    messages, add_generation_prompt=True, return_tensors="pt", return_dict=True',
        ")",
        "output = model.generate(**inputs, max_new_tokens=128)",
        'print(tokenizer.decode(output[0][inputs["input_ids"].shape[1] :], skip_special_tokens=True))',
        "```",
    ]


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("trl", "transformers", "peft", "torch"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def build_model_card(
    run_dir: str | Path, repo_id: str, kind: str, image: str | None = None, names: dict[str, str] | None = None
) -> str:
    """The README.md for a shared run: Hub metadata, data, settings, loss figures, evaluation and A/B results.

    ``kind`` is 'adapter' (a LoRA adapter, loaded with PEFT) or 'model'.
    """
    import yaml

    from core.ab_test import tally

    run_dir = Path(run_dir)
    config = RunFolder(run_dir).read_config() or {}
    base = str(config.get("model_id") or "")
    dataset = str(config.get("dataset") or "")
    metadata: dict = {}
    if _is_hub_id(base):
        metadata["base_model"] = base
    elif base == OFFLINE_COPY_ID:  # what really trained: the GGUF repo's weights, dequantised (core/models/origin.py)
        metadata["base_model"] = GGUF_SOURCE_REPO
    metadata["library_name"] = "peft" if kind == "adapter" else "transformers"
    metadata["pipeline_tag"] = "text-generation"
    metadata["tags"] = ["trl", "sft", "sft-coach"] + (["lora"] if kind == "adapter" else [])
    if _is_hub_id(dataset):
        metadata["datasets"] = [dataset]
    if base == OFFLINE_COPY_ID:
        base_text = OFFLINE_COPY_DESCRIPTION
    else:
        base_text = f"[{base}](https://huggingface.co/{base})" if _is_hub_id(base) else f"`{Path(base).name or base}`"
    what = "A LoRA adapter for" if kind == "adapter" else "A fine-tuned version of"
    lines = [
        "---",
        yaml.safe_dump(metadata, sort_keys=False).strip(),
        "---",
        "",
        f"# {repo_id.split('/')[-1]}",
        "",
        f"{what} {base_text}, trained with supervised fine-tuning (SFT) using "
        "[TRL](https://github.com/huggingface/trl)'s `SFTTrainer` in SFT Coach.",
        "",
        "## Base model",
        "",
        base_text[:1].upper()
        + base_text[1:]
        + (" (apply this adapter on top of it)." if kind == "adapter" else " (weights merged in)."),
        "",
        "## Dataset and conversion",
        "",
        *_dataset_lines(dataset),
        "",
        "## Training configuration",
        "",
        *_config_rows(config),
        "",
        "## Training results",
        "",
        *_results_lines(run_dir, image),
    ]
    evaluation = _evaluation_lines(run_dir)
    if evaluation:
        lines += ["", "## Evaluation before vs after fine-tuning", "", *evaluation]
    votes = tally(run_dir)
    if votes.rounds:
        known = {**_card_names(run_dir, config), **(names or {})}
        # Refs are local paths or ids; a path not named above becomes "another model", never a local path.
        shown = {ref: known.get(ref) or (ref if _is_hub_id(ref) else "another model") for ref in votes.wins}
        lines += ["", "## Blind A/B test", "", votes.summary(shown)]
    lines += ["", "## How to use", "", *_usage_lines(repo_id, kind), "", f"Framework versions: {_versions()}.", ""]
    return "\n".join(lines)
