"""RunConfig: validation that names the field by its label and says the fix, and the fields' descriptions."""

from __future__ import annotations

import pytest

from core.config import METHODS, ConfigError, RunConfig, describe_field, describe_fields, field_label


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
        ({"packing": True}, "'packing'", "Pack text into blocks (packing): change that setting instead"),
        ({"weight_decay": [0.1]}, "'weight_decay'", "plain number, text, True/False or None"),
        ({1: True}, "1 is not a name", "argument names as text"),
    ],
)
def test_a_bad_extra_entry_is_refused_naming_the_key(extra, named, fix):
    with pytest.raises(ConfigError) as err:
        RunConfig(extra=extra)
    message = str(err.value)
    assert message.startswith(f"{field_label('extra')} (extra) = ")
    assert named in message and fix in message


def test_unknown_keys_are_named():
    with pytest.raises(ConfigError, match="learnig_rate"):
        RunConfig.from_dict({"learnig_rate": 1e-4})
