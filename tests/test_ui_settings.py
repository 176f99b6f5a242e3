"""The Settings step's handlers, called as the page calls them: the cards follow the values in effect, and a
new dataset rebuilds the preset unless the user edited its numbers by hand."""

from __future__ import annotations

import json
import math
import re

import gradio as gr
import pytest

from core.config import RunConfig, describe_field
from core.models.catalog import TINY_MODEL_ID
from ui.settings import (
    ADVANCED_FIELDS,
    OUTPUT_NAMES,
    SettingsEvents,
    SettingsStep,
    apply_edit,
    apply_preset,
    build_settings_step,
    refresh_from_state,
    show_start,
)


def _named(result: tuple) -> dict:
    return dict(zip(OUTPUT_NAMES, result, strict=True))


def _skipped(value) -> bool:
    return isinstance(value, dict) and value == {"__type__": "update"}


def _edit(values: dict, preset, **changes) -> dict:
    """What the page sends when one advanced field is typed into."""
    config = {**values, **changes}
    raw = [config[name] for name in ADVANCED_FIELDS]
    return _named(
        apply_edit(
            values, preset, config["model_id"], config["method"], config["lora_target"],
            config["gradient_checkpointing"], config["max_steps"], *raw,
        )
    )  # fmt: skip


@pytest.fixture
def small_dataset(tmp_path, tiny_model_path):
    """300 short chats: Training Hub gives them an effective batch of 32, not 128; Balanced takes 8 for 100+ steps."""
    folder = tmp_path / "small"
    folder.mkdir()
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"What is {i} plus 1?"},
                {"role": "assistant", "content": str(i + 1)},
            ]
        }
        for i in range(300)
    ]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(folder)


def _start(name: str) -> dict:
    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()
    return _named(apply_preset(name, "lora", TINY_MODEL_ID, values))


def test_the_steps_card_follows_a_batch_size_typed_by_hand(tiny_model_path):
    shown = _start("Quick demo")
    assert "60 steps x batch 4 = 240 rows" in shown["cards"]
    edited = _edit(shown["config"], shown["preset"], per_device_batch_size=8)
    assert edited["config"]["per_device_batch_size"] == 8
    cards = edited["cards"]
    assert "60 steps x batch 8 = 480 rows" in cards and "batch 4" not in cards
    assert "You changed this; the preset suggests 4 x 1." in cards


def test_a_new_dataset_rebuilds_the_preset_when_nothing_was_edited(tiny_model_path, small_dataset):
    shown = _start("Balanced")
    old = shown["config"]
    assert (old["gradient_accumulation_steps"] * old["per_device_batch_size"], old["max_steps"]) == (16, 189)
    # The Data step's "Use this dataset" writes the new folder and its own max length choice.
    after = {**old, "dataset": small_dataset, "max_length": 256}
    refreshed = _named(refresh_from_state(after, shown["preset"]))
    new = refreshed["config"]
    assert new["dataset"] == small_dataset and new["max_length"] == 256  # the Data step's choice stands
    # 300 rows: Training Hub's 32 would be 30 steps over 3 passes, under Tinker's 100, so the preset takes 8
    assert new["per_device_batch_size"] * new["gradient_accumulation_steps"] == 8
    rows = refreshed["preset"].data.n_rows  # the training rows left after the held-out split
    assert rows <= 300 and new["max_steps"] == math.ceil(rows / 8) * 3 >= 100  # 3 passes (Balanced)
    assert "The dataset changed" in refreshed["message"] and f"{rows} training rows" in refreshed["message"]
    words = re.sub("<[^>]+>", "", refreshed["cards"])  # the text a person reads, hover explanations aside
    assert f"{rows} rows / effective batch 8 = {math.ceil(rows / 8)} steps per pass" in words
    assert "Balanced: " in refreshed["preset_info"]["info"] and "effective batch 8" in refreshed["preset_info"]["info"]
    assert refreshed["reapply"] == {"__type__": "update", "visible": False}
    # Writing it back fires config_state.change again: this time nothing is rebuilt or rewritten.
    again = _named(refresh_from_state(new, refreshed["preset"]))
    assert _skipped(again["config"]) and _skipped(again["message"])


def test_a_new_dataset_keeps_numbers_edited_by_hand_and_offers_the_preset(tiny_model_path, small_dataset):
    shown = _start("Balanced")
    edited = _edit(shown["config"], shown["preset"], max_steps=200)
    after = {**edited["config"], "dataset": small_dataset}
    refreshed = _named(refresh_from_state(after, edited["preset"]))
    assert _skipped(refreshed["config"])  # the user's values stay exactly as they are
    assert "You set these by hand, so your values stay: Training steps." in refreshed["message"]
    assert "Re-apply the preset" in refreshed["message"]
    assert refreshed["reapply"] == {"__type__": "update", "visible": True}
    suggested = refreshed["preset"].config.max_steps
    assert suggested != 24 and refreshed["preset"].config.dataset == small_dataset  # worked out for the new data
    assert f"You changed this; the preset suggests {suggested}." in refreshed["cards"]
    reapplied = _named(apply_preset("Balanced", "lora", TINY_MODEL_ID, after))
    assert reapplied["config"]["max_steps"] == suggested and reapplied["config"]["dataset"] == small_dataset


def test_the_page_opens_with_the_learning_rate_sources_filled(tiny_model_path):
    """The advanced view shows the recommended LR and the three sources from the first load, not after a click."""
    cards, fit, lr_sources, caption, preset = show_start(RunConfig(model_id=TINY_MODEL_ID).to_dict())
    assert "Learning rate" in cards and "GB" in fit and preset.name == "Quick demo"
    assert "recommended 7.4e-03" in lr_sources  # Tinker: 5e-5 x 10 x (2000 / 64) ^ 0.781 for the tiny Llama
    assert "SmolLM3 guide" in lr_sources and "Training Hub" in lr_sources
    assert "[Tinker's learning-rate guidance](https://tinker-docs.thinkingmachines.ai/" in lr_sources  # a link
    assert "- *Tinker formula*: " in lr_sources  # the term a beginner meets, explained in place
    # The Quick demo keeps 1.0e-3 against the tiny model's 7.4e-3: the sources panel says it departs, and why
    assert "**In effect: 1.0e-03**, not the recommendation" in lr_sources
    assert caption["info"].startswith("Quick demo: ") and "Suggests 60 optimizer steps" in caption["info"]


def test_settings_brought_back_by_a_reload_show_the_preset_they_match(tiny_model_path):
    """A reload restores the numbers (ui/remember.py); the preset shown is theirs, not the Quick demo's."""
    balanced = _named(apply_preset("Balanced", "lora", TINY_MODEL_ID, RunConfig(model_id=TINY_MODEL_ID).to_dict()))
    cards, _, _, choice, preset = show_start(balanced["config"])
    assert preset.name == "Balanced" and choice["value"] == "Balanced"
    assert "You changed this" not in cards
    assert any(label.startswith("Balanced · about ") for label, _ in choice["choices"])  # its whole-run time


def test_every_setting_on_the_page_is_labelled_and_explained_by_its_runconfig_field():
    """The Settings step reads each component's label and info from the field's metadata: a setting is described
    once (core/config.py), and the page and the error messages use the same words."""
    with gr.Blocks() as demo:
        step = build_settings_step(gr.State(RunConfig().to_dict()))
    assert isinstance(step, SettingsStep) and step.model.elem_id == "model-choice"
    by_id = {block.elem_id: block for block in demo.blocks.values() if getattr(block, "elem_id", None)}
    shown = {"model-choice": "model_id", "max-steps": "max_steps", "field-lora-target": "lora_target"}
    shown |= {f"field-{name.replace('_', '-')}": name for name in (*ADVANCED_FIELDS, "gradient_checkpointing")}
    for elem_id, name in shown.items():
        about = describe_field(name)
        assert by_id[elem_id].label == about.label, name
        assert by_id[elem_id].info == about.help, name
    method = by_id["method-choice"]
    assert method.label == describe_field("method").label
    assert [value for _, value in method.choices] == ["lora", "qlora", "full"]
    assert ("QLoRA (4-bit base)", "qlora") in method.choices
    assert ("Attention only", "attention") in by_id["field-lora-target"].choices
    page_text = " ".join(f"{b.label} {b.info}" for b in by_id.values() if hasattr(b, "info") and b.info)
    assert "sft-facts" not in page_text  # internal notes are never cited in the page


def test_a_bad_value_is_refused_by_the_label_the_page_shows(tiny_model_path):
    shown = _start("Quick demo")
    refused = _edit(shown["config"], shown["preset"], warmup_ratio=1.5)
    assert f"{describe_field('warmup_ratio').label} (warmup_ratio) = 1.5 is not valid" in refused["message"]
    assert "between 0 and 1" in refused["message"] and _skipped(refused["config"])  # nothing was stored
    empty = _edit(shown["config"], shown["preset"], lora_r=None)
    assert "LoRA rank r (lora_r) is empty: type a number." in empty["message"]


class _RunsOf:
    """A manager that knows one person's run folder: ``run_dirs`` is all the Settings events ask it."""

    def __init__(self, owner: str, folder) -> None:
        self.owner, self.folder = owner, folder

    def run_dirs(self, owner: str) -> list:
        return [self.folder] if owner == self.owner else []


def test_another_persons_run_folder_is_refused_as_a_model_before_it_is_read(tmp_path, request_as):
    """The events decide who is asking from the request: a stranger typing alice's run folder gets a refusal."""
    folder = tmp_path / "alice-run"
    folder.mkdir()
    events = SettingsEvents(_RunsOf("alice", folder))
    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()
    raw = [values[name] for name in ADVANCED_FIELDS]
    stranger = request_as("stranger")
    picked = _named(events.pick_preset(stranger, "Quick demo", "lora", str(folder), values))
    edited = _named(events.edit_setting(stranger, values, None, str(folder), "lora", "all-linear", False, 60, *raw))
    for shown in (picked, edited):
        assert shown["message"].startswith("**Can't use this model:**") and str(folder) in shown["message"]
        assert _skipped(shown["config"])  # nothing was stored
    assert events.model_problem(str(folder), request_as("alice")) == ""  # the owner may use it
    assert events.model_problem(TINY_MODEL_ID, request_as("stranger")) == ""  # a known base model: anyone
