"""The exported recipe: TRL's own parser reads back the app's values, and `trl sft --config` trains with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import RunConfig
from core.device import precision_flags
from core.recipe import DEVICE_FIELDS, FLAGS_FILE, SFT_FIELDS, export_recipe
from core.trl_args import build_model_init_kwargs, build_sft_config
from tests.devices import A10G, CPU, H100, T4, fake_cuda


def _parse(recipe_path: Path, flags: list[str] = ()):
    from trl import DatasetMixtureConfig, ModelConfig, ScriptArguments, SFTConfig, TrlParser

    # The dataclasses `trl sft` parses with (trl/scripts/sft.py, make_parser); flags after --config win.
    parser = TrlParser((ScriptArguments, SFTConfig, ModelConfig, DatasetMixtureConfig))
    return parser.parse_args_and_config(args=["--config", str(recipe_path), *flags])


def _device_flags(folder: Path) -> list[str]:
    """What ``python device_flags.py`` prints on this machine, as `trl sft` arguments."""
    out = subprocess.run([sys.executable, FLAGS_FILE], cwd=folder, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.parametrize(
    "config",
    [
        RunConfig(),
        RunConfig(method="full", learning_rate=1e-4, max_steps=-1, num_epochs=2, eval_steps=0),
        RunConfig(lora_r=32, lora_alpha=64, lora_target="attention", early_stopping_patience=2, max_length=1024),
    ],
    ids=["quick-demo", "full-epochs", "thorough-attention"],
)
def test_yaml_round_trips_through_trls_own_parser(tmp_path, config):
    recipe = export_recipe(config, tmp_path / "recipe", CPU)
    flags = _device_flags(recipe.folder)
    script_args, sft_args, model_args, _ = _parse(recipe.folder / "recipe.yaml", flags)
    expected = build_sft_config(config, "output", CPU, run_name="sft-coach-recipe")
    for name in (*SFT_FIELDS, *DEVICE_FIELDS):  # the device's own fields come from device_flags.py, run here
        assert getattr(sft_args, name) == getattr(expected, name), name
    assert model_args.model_name_or_path == config.model_id
    assert model_args.dtype == "float32"
    assert model_args.use_peft is config.uses_peft
    if config.uses_peft:
        assert (model_args.lora_r, model_args.lora_alpha) == (config.lora_r, config.lora_alpha)
        wanted = "all-linear" if config.lora_target == "all-linear" else ["k_proj", "o_proj", "q_proj", "v_proj"]
        assert model_args.lora_target_modules == wanted
    assert script_args.dataset_name == "data"
    assert (recipe.folder / "data" / "train.jsonl").stat().st_size > 0


@pytest.mark.parametrize("method", ["full", "lora", "qlora"])
def test_a_recipe_is_the_same_whichever_machine_exports_it(tmp_path, method):
    exporters = [T4, H100] if method == "qlora" else [CPU, T4, A10G, H100]  # QLoRA is offered on CUDA only
    texts = set()
    for device in exporters:
        recipe = export_recipe(RunConfig(method=method), tmp_path / device.name, device)
        commands = recipe.commands_text().replace(str(recipe.folder), "<folder>")
        texts.add((recipe.yaml_text, recipe.script_text, commands, (recipe.folder / FLAGS_FILE).read_text()))
    assert len(texts) == 1
    yaml_text = texts.pop()[0]
    for key in (*DEVICE_FIELDS, "dtype", "attn_implementation"):
        assert f"\n{key}:" not in yaml_text, key  # never the exporting machine's device or precision
    assert f"$(python {FLAGS_FILE})" in recipe.trl_command and f"$(python {FLAGS_FILE})" in recipe.trl_flags_command


def _exported_precision(folder: Path) -> tuple[dict, dict]:
    """``machine_precision()`` of the exported device_flags.py, run in this process (torch faked or not)."""
    namespace: dict = {}
    exec(compile((folder / FLAGS_FILE).read_text(), FLAGS_FILE, "exec"), namespace)  # noqa: S102 - our own export
    return namespace["machine_precision"]()


MACHINES = {"cpu": (CPU, False), "t4": (T4, True), "a10g": (A10G, False), "h100+flash-attn": (H100, True)}


@pytest.mark.parametrize(
    ("machine", "method"),
    [(m, method) for m in MACHINES for method in ("full", "lora", "qlora") if m != "cpu" or method != "qlora"],
)
def test_the_exported_files_pick_the_apps_precision_where_they_run(tmp_path, monkeypatch, machine, method):
    device, flash_attn = MACHINES[machine]
    recipe = export_recipe(RunConfig(method=method), tmp_path / "recipe", T4 if method == "qlora" else CPU)
    if device.is_cuda:
        fake_cuda(monkeypatch, device, flash_attn=flash_attn)
    flags, load = _exported_precision(recipe.folder)
    app = build_model_init_kwargs(RunConfig(method=method), device)
    assert {k: flags[k] for k in ("bf16", "fp16")} == precision_flags(device)
    assert flags["use_cpu"] is (device.kind == "cpu")
    assert load["dtype"] == app["dtype"]
    assert load.get("attn_implementation") == app.get("attn_implementation")
    assert "def machine_precision" in recipe.script_text  # the standalone script asks the same function


def test_exports_hold_no_secrets_and_name_the_token_only(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_supersecretvalue123")
    recipe = export_recipe(RunConfig(), tmp_path / "recipe", CPU)
    everything = recipe.yaml_text + recipe.script_text + recipe.commands_text()
    everything += "".join(p.read_text() for p in recipe.files)
    assert "hf_supersecretvalue123" not in everything
    assert "--secrets HF_TOKEN" in recipe.hf_jobs_command  # passed by name, value read from the user's env


def test_demo_data_is_the_converted_rows_the_app_trains_on(tmp_path):
    from core.data.prepare import load_demo_rows
    from core.data.readers.json_files import read_jsonl

    recipe = export_recipe(RunConfig(dataset="word_problems"), tmp_path / "recipe", CPU)
    train, test, _ = load_demo_rows("word_problems")
    written = read_jsonl(recipe.folder / "data" / "train.jsonl", "train.jsonl", on_bad_lines="error").rows
    assert written == train and len(test) > 0
    assert set(written[0]) == {"prompt", "completion"}  # converted, not the raw Question/Complex_CoT columns


def test_standalone_script_is_valid_python_holding_the_recipes_values(tmp_path):
    recipe = export_recipe(RunConfig(method="full", eval_steps=0), tmp_path / "recipe", CPU)
    script: dict = {"__name__": "train_sft"}  # defined, not run
    exec(compile(recipe.script_text, "train_sft.py", "exec"), script)  # noqa: S102 - our own export
    assert script["LORA"] is None and script["QLORA"] is False
    args = script["SFT_ARGS"]  # Python's False/None, not JSON's false/null (which stopped the script at its start)
    assert args["packing"] is False and args["eval_steps"] is None and args["max_steps"] == 60
    assert not set(DEVICE_FIELDS) & set(args)  # chosen where it runs, by machine_precision


@pytest.mark.slow
def test_trl_sft_trains_from_the_exported_recipe_offline(tmp_path, tiny_model_path):
    config = RunConfig(max_steps=2, save_steps=0, eval_steps=2, logging_steps=1)
    recipe = export_recipe(config, tmp_path / "recipe", CPU, model_path=str(tiny_model_path))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRACKIO_DIR": str(tmp_path / "trackio"),
        "OMP_NUM_THREADS": "2",
    }
    trl = Path(sys.executable).with_name("trl")
    assert recipe.trl_command == "trl sft --config recipe.yaml $(python device_flags.py)"
    out = subprocess.run(
        [str(trl), "sft", "--config", "recipe.yaml", *_device_flags(recipe.folder)],
        cwd=recipe.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    result = recipe.folder / "output"
    assert (result / "adapter_config.json").is_file()  # a LoRA adapter was trained and saved
    assert "'train_loss'" in out.stdout or "train_loss" in out.stderr, out.stdout[-2000:]
    assert "eval_loss" in out.stdout + out.stderr  # evaluated on data/test.jsonl at step 2
