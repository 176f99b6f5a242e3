"""RunConfig validation and the single RunConfig -> SFTConfig translation."""

from __future__ import annotations

import pytest

from core.config import (
    METHODS,
    SFT_ARGUMENTS_FROM_SETTINGS,
    ConfigError,
    RunConfig,
    build_lora_config,
    build_model_init_kwargs,
    build_sft_config,
    describe_field,
    describe_fields,
    field_label,
)
from tests.devices import A10G, CPU, T4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("learning_rate", 0),
        ("learning_rate", -1e-4),
        ("per_device_batch_size", 0),
        ("gradient_accumulation_steps", 0),
        ("max_length", 4),
        ("max_steps", 0),
        ("method", "dora"),
        ("lora_target", "everything"),
        ("warmup_ratio", 1.5),
        ("model_id", " "),
        ("probe_prompts", ["one", " "]),
        ("probe_prompts", ["p"] * 6),
        ("probe_prompts", "a single string"),
        ("probe_prompts", ["x" * 2001]),
        ("extra", ["packing"]),
    ],
)
def test_bad_values_name_the_field_by_its_label_and_say_the_fix(field, value):
    with pytest.raises(ConfigError) as err:
        RunConfig(**{field: value})
    message = str(err.value)
    assert message.startswith(f"{field_label(field)} ({field}) = {value!r} is not valid: ")  # as the page calls it
    assert "use" in message or "pick" in message


def test_the_learning_rate_error_reads_as_a_sentence():
    with pytest.raises(ConfigError) as err:
        RunConfig(learning_rate=5)
    assert str(err.value) == (
        "Learning rate (learning_rate) = 5 is not valid: use a positive value below 1, typically 1e-5 to 1e-3."
    )


def test_every_field_has_a_label_and_help_a_beginner_can_read():
    described = describe_fields()
    assert list(described) == list(RunConfig.__dataclass_fields__)
    labels = [info.label for info in described.values()]
    assert len(set(labels)) == len(labels)  # two settings never share a name on the page
    for info in described.values():
        assert info.label.strip() and info.label[0].isupper(), info.name
        assert len(info.help) > 20 and info.help.endswith("."), info.name
        assert "sft-facts" not in info.help + info.label, info.name  # internal notes are never cited in the page
        assert info.kind in ("int", "float", "bool", "choice", "text", "lines", "mapping"), info.name


def test_kinds_and_choices_follow_the_fields():
    assert describe_field("learning_rate").kind == "float"
    assert describe_field("per_device_batch_size").kind == "int"
    assert describe_field("gradient_checkpointing").kind == "bool"
    assert describe_field("probe_prompts").kind == "lines"
    method = describe_field("method")
    assert method.kind == "choice" and tuple(method.choices) == METHODS
    assert method.choices["qlora"] == "QLoRA (4-bit base)"


def test_extra_passes_real_sft_config_arguments_through(tmp_path):
    args = build_sft_config(RunConfig(extra={"weight_decay": 0.05, "max_grad_norm": None}), tmp_path, CPU)
    assert args.weight_decay == 0.05 and args.max_grad_norm is None


@pytest.mark.parametrize(
    ("extra", "named", "fix"),
    [
        ({"pakcing": True}, "'pakcing'", "Did you mean 'packing'?"),
        ({"weight_decay": 0.1, "no_such_option": 1}, "'no_such_option'", "huggingface.co/docs/trl/sft_trainer"),
        ({"learning_rate": 1e-4}, "'learning_rate'", "Learning rate (learning_rate): change that setting instead"),
        ({"num_train_epochs": 3}, "'num_train_epochs'", "Epochs (num_epochs)"),
        ({"report_to": "none"}, "'report_to'", "the app sets it for every run"),
        ({"trust_remote_code": True}, "'trust_remote_code'", "the app sets it"),
        ({"push_to_hub": True}, "'push_to_hub'", "Share tab"),
        ({"packing": [True]}, "'packing'", "plain number, text, True/False or None"),
        ({1: True}, "1 is not a name", "argument names as text"),
    ],
)
def test_a_bad_extra_entry_is_refused_naming_the_key(extra, named, fix):
    with pytest.raises(ConfigError) as err:
        RunConfig(extra=extra)
    message = str(err.value)
    assert message.startswith(f"{field_label('extra')} (extra) = ")
    assert named in message and fix in message


def test_every_argument_the_app_gives_sft_config_is_refused_in_extra(tmp_path, monkeypatch):
    """A key in ``extra`` that build_sft_config also sets would reach SFTConfig twice (a TypeError at Start)."""
    import trl

    passed = {}
    monkeypatch.setattr(trl, "SFTConfig", lambda **kwargs: passed.update(kwargs))
    build_sft_config(RunConfig(early_stopping_patience=2), tmp_path, CPU)
    assert "learning_rate" in passed and "output_dir" in passed
    for name in passed:
        with pytest.raises(ConfigError, match=f"'{name}' can't be set here"):
            RunConfig(extra={name: 1})
    assert set(SFT_ARGUMENTS_FROM_SETTINGS.values()) <= set(describe_fields())  # each names a real setting


def test_unknown_keys_are_named():
    with pytest.raises(ConfigError, match="learnig_rate"):
        RunConfig.from_dict({"learnig_rate": 1e-4})


def test_cpu_sft_config_is_float32_without_checkpointing_and_logs_to_trackio(tmp_path):
    args = build_sft_config(RunConfig(), tmp_path, CPU)
    assert args.bf16 is False and args.fp16 is False
    assert not args.gradient_checkpointing  # SFTConfig defaults it on; pointless for 135M on CPU (sft-facts §7)
    assert args.use_cpu is True
    assert args.report_to == ["trackio"]
    assert args.logging_steps == 1
    assert args.max_steps == RunConfig().max_steps
    assert args.model_init_kwargs["dtype"] == "float32"


def test_gpu_precision_follows_the_device():
    # A real SFTConfig can't be built for a CUDA device on this CPU machine (TrainingArguments checks the
    # hardware), so the GPU path is tested at the level of the values it passes.
    from core.device import precision_flags

    assert build_model_init_kwargs(RunConfig(), A10G)["dtype"] == "bfloat16"
    assert precision_flags(A10G) == {"bf16": True, "fp16": False}
    assert build_model_init_kwargs(RunConfig(), T4)["dtype"] == "float16"
    assert precision_flags(T4) == {"bf16": False, "fp16": True}


def test_qlora_is_refused_on_cpu_with_the_reason(tmp_path):
    with pytest.raises(ConfigError, match="CUDA"):
        build_sft_config(RunConfig(method="qlora"), tmp_path, CPU)


def test_qlora_on_cuda_loads_the_base_in_4bit():
    kwargs = build_model_init_kwargs(RunConfig(method="qlora"), A10G)
    quant = kwargs["quantization_config"]
    assert quant.load_in_4bit and not quant.load_in_8bit  # never both (sft-facts §3)
    assert quant.bnb_4bit_quant_type == "nf4"


def test_lora_config_follows_the_settings():
    lora = build_lora_config(RunConfig(lora_r=8, lora_alpha=16, lora_target="attention"))
    assert lora.r == 8 and lora.lora_alpha == 16
    assert set(lora.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert build_lora_config(RunConfig(method="full")) is None


def test_remote_code_is_off_unless_the_admin_allows_it(monkeypatch):
    from core.recipe import recipe_values

    monkeypatch.delenv("SFT_COACH_ALLOW_REMOTE_CODE", raising=False)
    assert build_model_init_kwargs(RunConfig(), CPU)["trust_remote_code"] is False
    monkeypatch.setenv("SFT_COACH_ALLOW_REMOTE_CODE", "0")
    assert build_model_init_kwargs(RunConfig(), CPU)["trust_remote_code"] is False
    monkeypatch.setenv("SFT_COACH_ALLOW_REMOTE_CODE", "1")
    assert build_model_init_kwargs(RunConfig(), CPU)["trust_remote_code"] is True
    values = recipe_values(RunConfig(), CPU, "some/model", "data", has_eval=False)
    assert values["model_init_kwargs"]["trust_remote_code"] is True  # the exported recipe says the same
