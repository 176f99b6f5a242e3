"""Export the run as a recipe that trains without the app: TRL's own CLI, a plain Python script, accelerate, HF Jobs.

Every value comes from ``core.trl_args.build_sft_config`` (the one place that
turns a ``RunConfig`` into ``trl.SFTConfig``) and ``build_lora_config``, so
the recipe and the app train the same way. The data is written next to the
recipe as ``data/train.jsonl`` (+ ``data/test.jsonl``), the converted rows
the app trains on. No token or secret goes into any file: HF Jobs gets the
token by name (``--secrets HF_TOKEN``), read from the user's environment.

Device and precision are never written in: they are chosen where the recipe runs, by the same rule as the
app (``core/device.py``): ``device_flags.py`` prints them for ``trl sft`` and the standalone script asks
itself. A recipe exported on a CPU trains in bf16 on an L4, in fp16 with float32 master weights on a T4.

What the app adds that a recipe can't: the live probe answers
(``sample_every``) and the early-stopping callback (``trl sft`` has no flag for
callbacks; the best checkpoint is still kept at the end).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from core.config import RunConfig
from core.device import DeviceInfo
from core.recipe_script import (  # noqa: F401 - the recipe's file names are part of its API
    DATA_FOLDER,
    FLAGS_FILE,
    JOB_METRICS_FILE,
    JOB_METRICS_PUSH_SECONDS,
    RECIPE_FILE,
    SCRIPT_FILE,
    flags_script,
    standalone_script,
)
from core.trl_args import build_lora_config, build_model_init_kwargs, build_sft_config

# SFTConfig fields the app sets (core/trl_args.build_sft_config), copied into the recipe from the built SFTConfig.
SFT_FIELDS = (
    "learning_rate",
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "packing",
    "packing_strategy",
    "max_steps",
    "num_train_epochs",
    "warmup_steps",
    "lr_scheduler_type",
    "logging_steps",
    "logging_first_step",
    "save_strategy",
    "save_steps",
    "save_total_limit",
    "eval_strategy",
    "eval_steps",
    "load_best_model_at_end",
    "metric_for_best_model",
    "greater_is_better",
    "seed",
    "data_seed",
    "activation_checkpointing",
    "report_to",
    "project",
    "trackio_static_space_id",
    "disable_tqdm",
    "dataloader_num_workers",
)
# SFTConfig fields that depend on the machine the recipe runs on: never exported, chosen there (machine_precision).
DEVICE_FIELDS = ("use_cpu", "bf16", "fp16")
# What recipe_values builds the SFTConfig for: a CUDA device (QLoRA's check passes) without bf16 (so no machine
# without a bf16 GPU refuses to build it); none of its device-dependent values go into the recipe.
_RECIPE_DEVICE = DeviceInfo("cuda", "the machine the recipe runs on", 0.0, False, 1)
OUTPUT_FOLDER = "output"
HF_JOBS_FLAVOR = "a10g-small"  # a 24 GB GPU: enough for LoRA on models up to ~3B (sft-facts §5: 16 GB for SmolLM3)


@dataclass
class Recipe:
    """The exported files and the commands that run them."""

    folder: Path
    yaml_text: str
    script_text: str
    trl_command: str
    trl_flags_command: str
    accelerate_command: str
    hf_jobs_command: str
    files: list[Path] = field(default_factory=list)

    def commands_text(self) -> str:
        return "\n\n".join(
            [
                f"# 1. TRL's own CLI with the recipe file\ncd {self.folder}\n{self.trl_command}",
                f"# 2. The same with flags only\n{self.trl_flags_command}",
                f"# 3. The standalone script through accelerate (add --num_processes N for N GPUs)\n"
                f"{self.accelerate_command}",
                f"# 4. On Hugging Face Jobs (GPU): push data/ as a dataset first, then\n{self.hf_jobs_command}",
            ]
        )


def _plain(value: Any) -> Any:
    """Enums and tuples as plain YAML values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def recipe_values(config: RunConfig, device: DeviceInfo, model: str, dataset_folder: str, has_eval: bool) -> dict:
    """The ``trl sft --config`` values: SFTConfig fields, ModelConfig fields (model, LoRA), and the data.

    ``device`` (the exporting machine) only decides whether the method may be exported from here (QLoRA needs
    CUDA, as in the app); the values are built for a stand-in GPU without bf16 and never include a field that
    depends on the device (``DEVICE_FIELDS``, dtype, attention), so every machine exports the same recipe.
    """
    config.check_device(device)
    args = build_sft_config(config, OUTPUT_FOLDER, _RECIPE_DEVICE, run_name="sft-coach-recipe", has_eval=has_eval)
    values: dict[str, Any] = {"model_name_or_path": model}
    init = build_model_init_kwargs(config, _RECIPE_DEVICE)  # its dtype and attention are left out
    values["model_init_kwargs"] = {k: v for k, v in init.items() if k in ("use_safetensors", "trust_remote_code")}
    # ScriptArguments: a local folder with train.jsonl (+ test.jsonl) loads as splits "train" (+ "test").
    values["dataset_name"] = dataset_folder
    values["dataset_train_split"] = "train"
    values["dataset_test_split"] = "test"
    values["output_dir"] = OUTPUT_FOLDER
    values["run_name"] = "sft-coach-recipe"
    for name in SFT_FIELDS:
        values[name] = _plain(getattr(args, name))
    if config.uses_peft:
        lora = build_lora_config(config)
        targets = lora.target_modules
        values.update(
            use_peft=True,
            lora_r=lora.r,
            lora_alpha=lora.lora_alpha,
            lora_dropout=lora.lora_dropout,
            lora_target_modules=targets if isinstance(targets, str) else sorted(targets),
        )
    if config.method == "qlora":
        quant = init["quantization_config"]
        values.update(
            load_in_4bit=True,
            bnb_4bit_quant_type=quant.bnb_4bit_quant_type,
            use_bnb_nested_quant=quant.bnb_4bit_use_double_quant,
        )
    return values


def write_recipe_data(config: RunConfig, folder: Path) -> tuple[Path, bool]:
    """Write the training rows the app would use into ``folder``; returns it and whether test.jsonl exists."""
    from core.data.export import write_training_folder
    from core.data.prepare import load_demo_rows, prepare_training_data
    from core.demo_data import DEMO_DATASETS

    if config.dataset in DEMO_DATASETS:
        train, test, _ = load_demo_rows(config.dataset)
        write_training_folder(train, test, folder)
    else:
        source = Path(config.dataset).expanduser()
        if source.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("train.jsonl", "test.jsonl"):
                if (source / name).is_file():
                    shutil.copyfile(source / name, folder / name)
        else:
            prepared = prepare_training_data(config.dataset)  # a single file: the app's seeded 5% split
            write_training_folder(prepared.train_rows, prepared.eval_rows, folder)
    return folder, (folder / "test.jsonl").is_file()


def _yaml(values: dict) -> str:
    import yaml

    head = (
        f"# SFT Coach recipe for TRL's CLI: trl sft --config {RECIPE_FILE} $(python {FLAGS_FILE})\n"
        f"# {FLAGS_FILE} adds the device and precision of the machine that runs it (bf16, fp16 or float32).\n"
        "# Made from the app's settings; no tokens or secrets inside.\n"
        "# The app's live probe answers and early-stopping callback are not part of `trl sft`.\n"
    )
    return head + yaml.safe_dump(values, sort_keys=False, allow_unicode=True)


def _flag(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"--{name} {str(value)}"
    if isinstance(value, list):
        return f"--{name} " + " ".join(str(v) for v in value)
    if isinstance(value, dict):
        return f"--{name} '{json.dumps(value)}'"
    return f"--{name} {value}"


def export_recipe(config: RunConfig, folder: str | Path, device: DeviceInfo, model_path: str | None = None) -> Recipe:
    """Write recipe.yaml, train_sft.py and data/ into ``folder`` and return them with the commands.

    ``model_path`` overrides the model written into the recipe (e.g. a local
    folder for an offline run); by default it is the Hub id the user picked,
    so the recipe works on any machine with internet.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data_folder, has_eval = write_recipe_data(config, folder / DATA_FOLDER)
    model = model_path or config.model_id
    values = recipe_values(config, device, model, DATA_FOLDER, has_eval)
    yaml_text = _yaml(values)
    script_text = standalone_script(values, config.method, SFT_FIELDS)
    (folder / RECIPE_FILE).write_text(yaml_text, encoding="utf-8")
    (folder / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    (folder / FLAGS_FILE).write_text(flags_script(config.method), encoding="utf-8")
    flags = " \\\n    ".join(_flag(k, v) for k, v in values.items() if v is not None)
    device_flags = f"$(python {FLAGS_FILE})"  # bf16 / fp16 / float32 and the device, chosen where it runs
    return Recipe(
        folder=folder,
        yaml_text=yaml_text,
        script_text=script_text,
        trl_command=f"trl sft --config {RECIPE_FILE} {device_flags}",
        trl_flags_command=f"trl sft \\\n    {flags} \\\n    {device_flags}",
        accelerate_command=f"accelerate launch {SCRIPT_FILE}",
        hf_jobs_command=(
            f"hf jobs uv run --flavor {HF_JOBS_FLAVOR} --timeout 2h --secrets HF_TOKEN \\\n"
            "    -e SFT_DATA=your-name/your-dataset -e HUB_MODEL_ID=your-name/your-model \\\n"
            f"    {SCRIPT_FILE}"
        ),
        files=[folder / RECIPE_FILE, folder / SCRIPT_FILE, folder / FLAGS_FILE, data_folder / "train.jsonl"]
        + ([data_folder / "test.jsonl"] if has_eval else []),
    )


def export_recipe_for(owner: str, config: RunConfig, device: DeviceInfo, kind: str = "") -> Recipe:
    """``export_recipe`` for one person: into a new folder of their own, from a dataset they may open.

    The recipe copies the training rows (and HF Jobs pushes them to the Hub), so the dataset is checked
    against what ``owner`` may open (core/file_access.py), as Start does: another person's upload never ends
    up in someone's download. The folder is the owner's (hashed) one, then the time and a random part, so two
    exports in the same second never share one. ``kind``: a prefix for the folder name (e.g. "jobs").
    """
    import secrets
    import time
    from dataclasses import replace

    from core.demo_data import DEMO_DATASETS
    from core.file_access import check_dataset_choice
    from core.owners import owner_folder_name
    from core.paths import data_dir

    root = data_dir()
    config = replace(config, dataset=check_dataset_choice(config.dataset, owner, root, (), DEMO_DATASETS))
    name = (f"{kind}-" if kind else "") + time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4)
    return export_recipe(config, root / "recipes" / owner_folder_name(owner) / name, device)
