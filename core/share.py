"""Sharing a result: merge a LoRA adapter into its base, write a model card, push to the Hugging Face Hub.

The token comes from the caller (the page's password field) or ``HF_TOKEN``.
It is passed to ``huggingface_hub`` per call and nowhere else: never logged,
never written to a file (not even the upload folder), and scrubbed from any
error message shown to the user.

Uploads go through the small ``HubClient`` protocol: ``HfHubClient`` is the
real one (``HfApi.create_repo`` + ``upload_folder``); tests use a fake one for
the logic, and the real one against a local fake of the Hub's HTTP API.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.hub import explain_error, find_token, missing_token_sentence, offline_reason, repo_id_problem
from core.model_pool import adapter_base_model, is_adapter_folder
from core.models import (
    OFFLINE_MODEL_ID,
    TINY_MODEL_ID,
    ModelUnavailableError,
    offline_model_dir,
    remote_code_allowed,
    resolve_model,
    tiny_model_dir,
)
from core.run_store import read_json, read_jsonl

Progress = Callable[[str], None]
CARD_IMAGE_SVG = "loss_curve.svg"
CARD_IMAGE_PNG = "loss_curve.png"
# Files a trainer leaves next to the weights that do not belong in a shared model: pickles (unsafe to load),
# optimizer state, and TRL's own README (replaced by our card).
_MERGED_MARKER = "sft_coach_merged"
_NOT_SHARED = {"README.md", "training_args.bin", "trainer_state.json", _MERGED_MARKER, "sft_coach_complete"}
_NOT_SHARED_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".partial")
TRAIN_COLOUR = "#4f46e5"  # the training monitor's colours (core/charts.py)
EVAL_COLOUR = "#f59e0b"


class ShareError(RuntimeError):
    """Sharing can't go ahead; the message says why and what to do (it never contains the token)."""


# -- merging ---------------------------------------------------------------------------------------------
def merge_adapter(
    adapter_dir: str | Path, output_dir: str | Path | None = None, progress: Progress | None = None
) -> Path:
    """Fold a LoRA adapter into its base model's weights and save the result as a plain model folder.

    The merged model needs no PEFT to load and gives the same answers as the
    adapter on its base (up to float rounding). Default output: ``merged/``
    next to the adapter's run folder. Written to a temporary folder first, so
    a crash never leaves half a model behind.
    """
    from core.ml_stack import import_training_stack

    import_training_stack()  # a click handler's worker thread: see core/ml_stack.py
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir = Path(adapter_dir)
    if not is_adapter_folder(adapter_dir):
        raise ShareError(
            f"{adapter_dir} holds no LoRA adapter (no adapter_config.json), so there is nothing to merge."
        )
    output = Path(output_dir) if output_dir else _default_merge_dir(adapter_dir)
    marker, weights = output / _MERGED_MARKER, adapter_dir / "adapter_model.safetensors"
    if marker.is_file() and (not weights.is_file() or marker.stat().st_mtime >= weights.stat().st_mtime):
        return output  # merged before, and the adapter has not been saved again since
    if progress:
        progress("Merging the LoRA adapter into the base model...")
    base = resolve_model(adapter_base_model(adapter_dir), progress)
    # float32 on the CPU: merging in half precision would round the merged weights differently from the adapter.
    model = AutoModelForCausalLM.from_pretrained(
        base, dtype="float32", use_safetensors=True, trust_remote_code=remote_code_allowed()
    )
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    tmp = output.with_name(output.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(adapter_dir).save_pretrained(tmp)
    (tmp / _MERGED_MARKER).write_text(f"{adapter_dir}\n")
    shutil.rmtree(output, ignore_errors=True)
    tmp.rename(output)
    return output


def _default_merge_dir(adapter_dir: Path) -> Path:
    if adapter_dir.parent.name == "checkpoints":
        return adapter_dir.parent.parent / f"merged-{adapter_dir.name}"
    return adapter_dir.parent / "merged"


# -- the upload folder ------------------------------------------------------------------------------------
def _result_dir(run_dir: Path) -> Path:
    result = (read_json(run_dir / "state.json") or {}).get("result_dir")
    if not result or not Path(result).is_dir():
        raise ShareError(f"The run {run_dir.name} has no trained model to share yet: let it finish first.")
    return Path(result)


def model_folder_to_share(run_dir: str | Path, what: str, progress: Progress | None = None) -> Path:
    """The folder whose weights get shared: the adapter, or the merged (or fully fine-tuned) model."""
    run_dir = Path(run_dir)
    result = _result_dir(run_dir)
    if what == "adapter":
        if not is_adapter_folder(result):
            raise ShareError("This run fine-tuned the whole model, so there is no adapter: share the model instead.")
        return result
    if what == "merged":
        return merge_adapter(result, progress=progress) if is_adapter_folder(result) else result
    raise ShareError(f"'{what}' is not something to share: use 'adapter' or 'merged'.")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # no second copy of the weights on disk
    except OSError:
        shutil.copy2(source, target)


def prepare_upload_folder(
    run_dir: str | Path, what: str, repo_id: str, progress: Progress | None = None, names: dict | None = None
) -> Path:
    """Build ``<run>/share/<what>/``: the model files, a README.md model card and the loss curve image."""
    run_dir = Path(run_dir)
    source = model_folder_to_share(run_dir, what, progress)
    folder = run_dir / "share" / what
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for item in sorted(source.iterdir()):
        if item.is_file() and item.name not in _NOT_SHARED and not item.name.endswith(_NOT_SHARED_SUFFIXES):
            _link_or_copy(item, folder / item.name)
    image = write_loss_curve(run_dir, folder)
    card = build_model_card(run_dir, repo_id, "adapter" if is_adapter_folder(source) else "model", image, names)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


# -- the model card --------------------------------------------------------------------------------------
def _is_hub_id(model_id: str) -> bool:
    """True for 'owner/name' ids that can be linked on the Hub (not local folders, not the tiny test model)."""
    return (
        bool(re.fullmatch(r"[\w.-]+/[\w.-]+", model_id)) and model_id != TINY_MODEL_ID and not Path(model_id).exists()
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
    train = _points(read_jsonl(run_dir / "metrics.jsonl").rows, "loss")
    evals = _points(read_jsonl(run_dir / "eval.jsonl").rows, "eval_loss")
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
    """Readable names for the model refs in votes.jsonl: the card must not show local paths."""
    names = {}
    base = str(config.get("model_id") or "")
    if base:
        label = f"base model ({base.split('/')[-1]})"
        names[base] = label
        local = {OFFLINE_MODEL_ID: offline_model_dir(), TINY_MODEL_ID: tiny_model_dir()}.get(base, Path(base))
        names[str(Path(local).expanduser().resolve())] = label  # the picker may hand over the resolved folder
    state = read_json(run_dir / "state.json") or {}
    if state.get("result_dir"):
        names[str(state["result_dir"])] = "this fine-tuned model"
    for checkpoint in (run_dir / "checkpoints").glob("checkpoint-*"):
        names[str(checkpoint)] = f"checkpoint at step {checkpoint.name.split('-')[-1]}"
    return names


def _dataset_lines(dataset: str) -> list[str]:
    from core.demo_data import DEMO_DATASETS

    demo = DEMO_DATASETS.get(dataset)
    if demo is None:
        return [f"The uploader's own data (`{Path(dataset).name}`), in one of TRL's dataset formats."]
    lines = [
        f"**{demo.title}**, a built-in demo of SFT Coach generated by its own code from a fixed seed "
        "(1,000 training rows, 100 held-out rows). " + demo.description,
        "",
    ]
    if demo.suggested_mapping:
        mapping = demo.suggested_mapping
        lines.append(
            "Conversion: columns mapped to TRL's conversational prompt-completion format: "
            f"prompt ← `{mapping['prompt']}`, completion ← `{mapping['completion']}`"
            + (
                f", with `{mapping['reasoning']}` wrapped in `<think>…</think>` before the answer"
                if "reasoning" in mapping
                else ""
            )
            + ". The loss falls on the completion only (TRL's default for prompt-completion data)."
        )
    else:
        lines.append("Conversion: none needed; rows are already in TRL's conversational `messages` format.")
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
    state = read_json(run_dir / "state.json") or {}
    train = _points(read_jsonl(run_dir / "metrics.jsonl").rows, "loss")
    evals = _points(read_jsonl(run_dir / "eval.jsonl").rows, "eval_loss")
    lines = [f"- Optimizer steps trained: {state.get('step', len(train))}"]
    if train:
        low = min(train, key=lambda p: p[1])
        lines.append(f"- Final training loss: {train[-1][1]:.4f} (step {train[-1][0]:.0f})")
        lines.append(f"- Lowest training loss: {low[1]:.4f} (step {low[0]:.0f})")
    if evals:
        low = min(evals, key=lambda p: p[1])
        lines.append(f"- Final validation loss: {evals[-1][1]:.4f}; lowest {low[1]:.4f} (step {low[0]:.0f})")
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
    config = read_json(run_dir / "config.json") or {}
    base = str(config.get("model_id") or "")
    dataset = str(config.get("dataset") or "")
    metadata: dict = {}
    if _is_hub_id(base):
        metadata["base_model"] = base
    metadata["library_name"] = "peft" if kind == "adapter" else "transformers"
    metadata["pipeline_tag"] = "text-generation"
    metadata["tags"] = ["trl", "sft", "sft-coach"] + (["lora"] if kind == "adapter" else [])
    if _is_hub_id(dataset):
        metadata["datasets"] = [dataset]
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
        f"{base_text}" + (" (apply this adapter on top of it)." if kind == "adapter" else " (weights merged in)."),
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


# -- the Hub ---------------------------------------------------------------------------------------------
class HubClient(Protocol):
    """The three Hub calls sharing needs."""

    def whoami(self, token: str) -> str:
        """The user name the token belongs to."""

    def create_repo(self, repo_id: str, token: str, private: bool) -> str:
        """Create the model repository if it does not exist; return its URL."""

    def upload_folder(self, folder: Path, repo_id: str, token: str, message: str) -> str:
        """Upload every file of ``folder`` in one commit; return the commit URL."""


class HfHubClient:
    """The real Hub, through ``huggingface_hub.HfApi`` (``endpoint`` defaults to ``HF_ENDPOINT`` or huggingface.co)."""

    def __init__(self, endpoint: str | None = None) -> None:
        from huggingface_hub import HfApi

        self.api = HfApi(endpoint=endpoint)

    def whoami(self, token: str) -> str:
        return self.api.whoami(token=token)["name"]

    def create_repo(self, repo_id: str, token: str, private: bool) -> str:
        return str(self.api.create_repo(repo_id, token=token, private=private, exist_ok=True))

    def upload_folder(self, folder: Path, repo_id: str, token: str, message: str) -> str:
        info = self.api.upload_folder(folder_path=str(folder), repo_id=repo_id, token=token, commit_message=message)
        return str(info.commit_url)


def hub_unavailable_reason() -> str | None:
    """A sentence saying why pushing can't work here (offline mode), or None when it may."""
    if offline_reason():
        return (
            "Sharing needs the Hugging Face Hub, but this app runs offline (HF_HUB_OFFLINE is set). "
            "Your model stays saved in its run folder; push it from a machine with internet access."
        )
    return None


def resolve_token(token: str | None) -> str:
    """The token to use: the one typed in, else HF_TOKEN or a saved login (core/hub.py). Never stored anywhere."""
    value = find_token(token)
    if not value:
        raise ShareError(missing_token_sentence("nothing was pushed"))
    return value


def explain_hub_error(err: BaseException, token: str) -> str:
    """A beginner sentence for a failed push; the token never appears in it."""
    return explain_error(err, token, "Your model stays saved in its run folder, so you can push it later.")


@dataclass
class PushResult:
    """What a push did."""

    repo_id: str
    url: str
    commit_url: str
    folder: Path
    files: list[str]


def check_repo_id(repo_id: str) -> str:
    """A valid repository name ('name' or 'user/name'), or ShareError saying what is wrong."""
    problem = repo_id_problem(repo_id)
    if problem:
        raise ShareError(problem)
    return repo_id.strip()


def push_to_hub(
    run_dir: str | Path,
    repo_id: str,
    what: str = "adapter",
    token: str | None = None,
    private: bool = True,
    client: HubClient | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Push a run's adapter (``what='adapter'``) or merged model (``'merged'``) with a generated model card.

    A name without a user ('my-model') goes under the token's user. The repo
    is private unless ``private=False``.
    """
    repo_id = check_repo_id(repo_id)
    secret = resolve_token(token)
    if client is None:
        reason = hub_unavailable_reason()
        if reason:
            raise ShareError(reason)
        client = HfHubClient()
    try:
        if "/" not in repo_id:
            repo_id = f"{client.whoami(secret)}/{repo_id}"
        folder = prepare_upload_folder(run_dir, what, repo_id, progress)
        if progress:
            progress(f"Creating {repo_id} on the Hub...")
        url = client.create_repo(repo_id, secret, private)
        if progress:
            progress(f"Uploading {what} files...")
        commit_url = client.upload_folder(folder, repo_id, secret, f"Upload {what} trained with SFT Coach")
    except (ShareError, ModelUnavailableError):
        raise
    except Exception as err:  # HTTP errors and network errors come from several libraries
        raise ShareError(explain_hub_error(err, secret)) from None  # `from None`: the cause may quote headers
    files = sorted(p.name for p in folder.iterdir())
    return PushResult(repo_id, url, commit_url, folder, files)
