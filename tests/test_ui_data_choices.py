"""The Data step's choices about rows and columns, through its handlers: the column box for every format,
'train every row' for labelled data, 'drop the images' for rows that bring them, and the column list."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from core.data.load import load_file
from core.data.wizard import draft_dataset
from ui.data import remap
from ui.data_outputs import DRAFT_OUTPUTS, MAPPING_PARTS, NO_COLUMN, draft_updates

SHAPES = Path(__file__).parent / "data" / "real_shapes"
pytestmark = pytest.mark.unit


def shown(name: str) -> dict:
    draft = draft_dataset(load_file(SHAPES / name), Path(name).stem)
    return dict(zip(DRAFT_OUTPUTS, draft_updates(draft), strict=True))


def choose(draft, columns=None, target=None, every=False, drop=False) -> dict:
    columns = columns or {}
    picked = [columns.get(part, NO_COLUMN) for part, _, _ in MAPPING_PARTS]
    return dict(zip(DRAFT_OUTPUTS, remap(draft, *picked, target or draft.target_format, every, drop), strict=True))


def test_the_column_box_is_there_for_a_detected_format_and_reads_other_columns_when_asked():
    page = shown("preference_sharegpt.json")
    box = page["mapping_box"].constructor_args
    assert box["open"] is False and "read other columns" in box["label"]  # there, closed
    prompt_choices = page["map_prompt"].constructor_args["choices"]
    assert prompt_choices[0] == ("(as detected: preference pairs (a chosen and a rejected answer))", NO_COLUMN)
    assert "id='column-fates'" in page["detected"] and "the worse answer of each pair" in page["detected"]

    kto = shown("kto_labels.jsonl")["draft"]
    mine = choose(kto, {"prompt": "completion", "completion": "prompt"})  # read the columns the other way round
    assert mine["draft"].source_format == "raw_columns" and mine["draft"].mapping.prompt == "completion"
    back = choose(mine["draft"])  # both back on "as detected"
    assert back["draft"].source_format == "prompt_completion" and back["draft"].mapping is None


def test_train_every_row_shows_for_labelled_rows_and_changes_what_is_trained():
    page = shown("kto_labels.jsonl")
    every = page["train_every_row"].constructor_args
    assert every["visible"] is True and every["value"] is False
    assert "also the 4 that 'label' does not mark good" in every["label"]
    assert "as in KTO data" in every["info"]
    after = choose(page["draft"], every=True)
    assert after["draft"].report.n_trained == 8 and after["train_every_row"].constructor_args["value"] is True
    assert "8 of 8 rows will be trained" in after["report"]
    assert shown("preference_hh.jsonl")["train_every_row"].constructor_args["visible"] is False


def test_drop_media_shows_for_rows_with_images_and_keeps_their_text():
    page = shown("llava_images.jsonl")
    assert page["drop_media"].constructor_args["visible"] is True
    assert "1 of 3 rows will be trained" in page["report"]
    after = choose(page["draft"], drop=True)
    assert after["draft"].report.n_trained == 3 and "&lt;image&gt;" not in after["mapped"]
    assert "you chose to drop the images" in after["detected"]  # the column list follows the choice
    assert shown("kto_labels.jsonl")["drop_media"].constructor_args["visible"] is False


def test_a_choice_that_cannot_be_used_keeps_the_rows_and_says_why():
    draft = shown("kto_labels.jsonl")["draft"]
    out = choose(draft, {"prompt": "label", "completion": "label"})
    assert out["draft"] == gr.skip() and "picked twice" in out["message"]
