"""The files of an exported recipe that run without the app: the standalone script and ``device_flags.py``.

``core/recipe.py`` builds the values (from ``core.trl_args``, as the app trains) and writes the folder; this
module turns them into Python source. Both files carry the app's precision rule (``machine_precision``), so the
device and precision are chosen where they run, never where they were exported.
"""

from __future__ import annotations

import pprint
from typing import Any

RECIPE_FILE = "recipe.yaml"
SCRIPT_FILE = "train_sft.py"
FLAGS_FILE = "device_flags.py"
DATA_FOLDER = "data"
# Where a Job's script pushes its logged steps in the output repo, for the app to follow it live (core/hf_jobs).
JOB_METRICS_FILE = "sft-coach/metrics.jsonl"
JOB_METRICS_PUSH_SECONDS = 60  # app's choice: a fresh curve about once a minute, ~1 small commit a minute


# The precision rule of core/device.py (precision_flags, weights_dtype, attention_implementation) for a file that
# runs without the app; both exported files carry it, and tests/test_gpu_config.py checks that it agrees with the
# app on fake GPUs of each class. {method} is the run's method ("full", "lora" or "qlora").
_MACHINE_PRECISION = '''
METHOD = {method!r}


def machine_precision(method=METHOD):
    """(training flags, model load settings) for the machine this runs on.

    bf16 on GPUs that compute in it natively (Ampere and newer; torch's default check also says yes where bf16
    is only emulated, as on a T4). Older GPUs get fp16 mixed precision, whose gradient scaler refuses float16
    gradients: a full fine-tune keeps float32 master weights, LoRA/QLoRA a float16 frozen base under float32
    adapters. A CPU or an Apple GPU trains in float32.
    """
    import importlib.util

    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        dtype = "bfloat16" if bf16 else ("float32" if method == "full" else "float16")
        attention = "flash_attention_2" if bf16 and importlib.util.find_spec("flash_attn") else "sdpa"
        load = {{"dtype": dtype, "attn_implementation": attention}}
        return {{"bf16": bf16, "fp16": not bf16, "use_cpu": False}}, load
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return {{"bf16": False, "fp16": False, "use_cpu": not mps}}, {{"dtype": "float32"}}
'''


def _machine_precision(method: str) -> str:
    return _MACHINE_PRECISION.format(method=method).strip("\n")


def flags_script(method: str) -> str:
    """``device_flags.py``: prints the ``trl sft`` flags for the device and precision of the machine it runs on."""
    return f'''"""The device and precision flags for `trl sft` on this machine, exported by SFT Coach.

Run: trl sft --config {RECIPE_FILE} $(python {FLAGS_FILE})
"""

{_machine_precision(method)}


if __name__ == "__main__":
    flags, load = machine_precision()
    print(" ".join(f"--{{name}} {{value}}" for name, value in {{**flags, **load}}.items()))
'''


def _python_literal(value: Any) -> str:
    """``value`` as Python source (True/False/None, not JSON's true/false/null), one key a line.

    >>> _python_literal({"packing": False, "metric_for_best_model": None})
    "{'packing': False, 'metric_for_best_model': None}"
    """

    return pprint.pformat(value, indent=4, sort_dicts=False)


def standalone_script(values: dict, method: str, sft_fields: tuple[str, ...]) -> str:
    """A standalone TRL + PEFT training script with the recipe's values, device-portable precision."""
    model = values["model_name_or_path"]
    sft = {k: values[k] for k in sft_fields}
    sft.update(output_dir=values["output_dir"], run_name=values["run_name"])
    sft["model_init_kwargs"] = {**values["model_init_kwargs"]}
    lora = None
    if values.get("use_peft"):
        lora = {
            "r": values["lora_r"],
            "lora_alpha": values["lora_alpha"],
            "lora_dropout": values["lora_dropout"],
            "target_modules": values["lora_target_modules"],
            "bias": "none",
            "task_type": "CAUSAL_LM",
        }
    quantize = bool(values.get("load_in_4bit"))
    return f'''# /// script
# dependencies = ["trl==1.16.0", "peft==0.21.2", "transformers==5.23.0", "datasets", "trackio", "bitsandbytes"]
# ///
"""Supervised fine-tuning exported by SFT Coach: TRL's SFTTrainer with the app's settings.

Run: python {SCRIPT_FILE}   (or: accelerate launch {SCRIPT_FILE})
Data: the folder in SFT_DATA (default: ./{DATA_FOLDER}, with train.jsonl and test.jsonl) or a Hub dataset id.
Set HUB_MODEL_ID=your-name/model to push the result (needs HF_TOKEN in the environment). No secrets in here.
"""

import json
import os
import time

import torch
from datasets import load_dataset
from peft import LoraConfig
from transformers import TrainerCallback
from trl import SFTConfig, SFTTrainer

MODEL = os.environ.get("SFT_MODEL", {model!r})
DATA = os.environ.get("SFT_DATA", {values["dataset_name"]!r})
SFT_ARGS = {_python_literal(sft)}
LORA = {_python_literal(lora)}
QLORA = {quantize}


{_machine_precision(method)}


class PushMetrics(TrainerCallback):
    """Every logged step into {JOB_METRICS_FILE} of the output repo, pushed about every {JOB_METRICS_PUSH_SECONDS} s
    and at the end, so SFT Coach can draw the loss curve while the run trains on Hugging Face Jobs."""

    def __init__(self, repo):
        self.repo, self.rows, self.pushed = repo, [], 0.0

    def on_log(self, args, state, control, logs=None, **kwargs):
        numbers = {{k: v for k, v in (logs or {{}}).items() if isinstance(v, (int, float))}}
        self.rows.append({{"step": state.global_step, "time": time.time(), "max_steps": state.max_steps, **numbers}})
        if state.is_world_process_zero and time.time() - self.pushed >= {JOB_METRICS_PUSH_SECONDS}:
            self.push()

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.push()

    def push(self):
        from huggingface_hub import HfApi

        self.pushed = time.time()
        text = "".join(json.dumps(row) + "\\n" for row in self.rows)
        try:
            HfApi().create_repo(self.repo, private=True, exist_ok=True)
            HfApi().upload_file(
                path_or_fileobj=text.encode(), path_in_repo={JOB_METRICS_FILE!r}, repo_id=self.repo,
                commit_message="Training metrics so far",
            )
        except Exception as err:  # the training goes on; only the live curve waits
            print(f"Could not push the metrics to {{self.repo}}: {{err}}")


def main():
    flags, load = machine_precision()
    init = {{**SFT_ARGS.pop("model_init_kwargs"), **load}}
    if QLORA:
        from transformers import BitsAndBytesConfig

        init["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=getattr(torch, load["dtype"]),
        )
    hub_model_id = os.environ.get("HUB_MODEL_ID")
    push = {{"push_to_hub": True, "hub_model_id": hub_model_id, "hub_private_repo": True}} if hub_model_id else {{}}
    args = SFTConfig(**SFT_ARGS, **flags, **push, model_init_kwargs=init)
    data = load_dataset(DATA)
    evaluate = args.eval_strategy != "no" and "test" in data
    if not evaluate:
        args.eval_strategy = "no"
        args.load_best_model_at_end = False
    trainer = SFTTrainer(
        model=MODEL,
        args=args,
        train_dataset=data["train"],
        eval_dataset=data["test"] if evaluate else None,
        peft_config=LoraConfig(**LORA) if LORA else None,
        callbacks=[PushMetrics(hub_model_id)] if hub_model_id else None,
    )
    trainer.train()
    trainer.save_model(args.output_dir)
    if hub_model_id:
        trainer.push_to_hub()


if __name__ == "__main__":
    main()
'''
