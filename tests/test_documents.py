"""Plain text and documents: how files are read as documents, the block size, packing in TRL, and what a person sees.

The corpus files are in ``tests/data/real_shapes/``; each test reads one the way the Data step does.
"""

from __future__ import annotations

import json

import pytest

from core.config import RunConfig
from core.data.documents import count_blocks, recommend_block_size, resplit_documents
from core.data.errors import DataError
from core.data.load import load_file, load_path
from core.data.readers.text_files import split_blocks
from core.data.stats import LengthStats
from core.data.wizard import check_dataset, draft_dataset, unusable_reason
from core.device import DeviceInfo
from core.trl_args import build_sft_config
from tests import ROOT
from ui.data_views import render_detection, render_lengths, render_loss_advice

SHAPES = ROOT / "tests" / "data" / "real_shapes"
CPU = DeviceInfo("cpu", "CPU, 2 cores", 24.0, False, 2)


def _checked(name: str, tokenizer, **load):
    draft = draft_dataset(load_file(SHAPES / name, **load), name)
    return draft, check_dataset(draft, tokenizer, model_id="tiny", model_max_length=8192)


def test_plain_notes_txt_is_one_document_per_paragraph_every_token_trained(data_tokenizer):
    draft, check = _checked("plain_notes.txt", data_tokenizer)
    assert draft.detection.format == "text" and draft.packed
    assert draft.loaded.text_split == "blocks" and list(draft.loaded.line_numbers) == [1, 3, 6, 9, 11, 13]
    assert "Zürich" in draft.loaded.rows[4]["text"] and draft.loaded.rows[5]["text"].endswith("🌿")
    assert (check.report.n_trained, check.report.n_left_out) == (6, 0)
    assert check.report.summary() == "6 of 6 rows will be trained."
    assert "Plain text: 6 documents, one document per blank-line-separated block." in render_detection(draft)
    assert check.max_length == 512 and "Most documents are short" in check.recommendation_reason
    assert "make 1 block of up to 512 tokens. Nothing is cut off or dropped" in check.truncation_message
    advice = render_loss_advice("text", None, check.max_length)
    assert (
        "Plain text: every token is trained (no prompt/answer), documents are joined and cut into blocks of 512 "
        "tokens." in advice
    )
    assert "https://ai-innovation.team/training_hub/#/" in render_lengths(check)
    assert unusable_reason(draft, check) == ""


def test_handbook_md_keeps_headings_with_their_text_and_code_blocks_whole(data_tokenizer):
    draft, check = _checked("handbook.md", data_tokenizer)
    texts = [row["text"] for row in draft.loaded.rows]
    assert draft.detection.format == "text" and len(texts) == 7
    assert texts[0].startswith("# Team handbook\n\nWelcome to the team.")
    code = next(t for t in texts if t.startswith("```python"))
    assert code.endswith("```") and '"""Say hello."""\n\n    return' in code  # its blank line did not split it
    assert (check.report.n_trained, check.report.n_left_out) == (7, 0)
    whole, whole_check = _checked("handbook.md", data_tokenizer, text_split="file")
    assert whole.loaded.n_rows == 1 and whole.loaded.rows[0]["text"].startswith("# Team handbook")
    assert "Plain text: 1 document, one document per file." in render_detection(whole)
    assert whole_check.max_length == 512  # one short document: 512 (Training Hub guide)


def test_documents_jsonl_packs_into_2048_token_blocks_and_leaves_out_the_empty_one(data_tokenizer):
    draft, check = _checked("documents.jsonl", data_tokenizer)
    assert draft.detection.format == "text" and draft.packed and draft.loaded.text_split == ""
    assert (check.report.n_trained, check.report.n_left_out) == (12, 1)
    assert check.report.summary() == (
        "12 of 13 rows will be trained. 1 is left out: empty text (1). Row numbers count from 1."
    )
    assert check.max_length == 2048 and "more than 512" in check.recommendation_reason
    total = sum(check.lengths.measured())
    assert f"12 documents, {total:,} tokens in all" in check.truncation_message
    assert check.report.max_length is None  # packed: no row is "too long", nothing is cut


def test_an_empty_txt_file_is_refused_naming_it():
    with pytest.raises(DataError, match=r"^empty.txt is empty: there is no text in it to train on\."):
        load_file(SHAPES / "empty.txt")


def test_a_zero_byte_md_and_a_binary_txt_are_refused_naming_them(tmp_path):
    (tmp_path / "notes.md").write_bytes(b"")
    (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "blank.md").write_text("\n  \n\n")
    with pytest.raises(DataError, match=r"^notes.md is empty: there is no text"):
        load_file(tmp_path / "notes.md")
    with pytest.raises(DataError, match=r"^photo.txt looks like a binary file .* plain text \(.txt, .md\)"):
        load_file(tmp_path / "photo.txt")
    with pytest.raises(DataError, match=r"^blank.md is empty"):
        load_file(tmp_path / "blank.md")


def test_a_txt_path_is_read_as_text_not_as_a_csv_and_json_lines_in_a_txt_stay_json(tmp_path):
    (tmp_path / "story.txt").write_text("Once, a fox; then, a crow.\n\nThe end, at last.")
    loaded = load_path(tmp_path / "story.txt")
    assert [row["text"] for row in loaded.rows] == ["Once, a fox; then, a crow.", "The end, at last."]
    (tmp_path / "rows.txt").write_text('{"prompt": "a", "completion": "b"}\n')
    assert load_path(tmp_path / "rows.txt").rows == [{"prompt": "a", "completion": "b"}]


def test_rows_of_one_document_column_become_text_documents(tmp_path):
    (tmp_path / "book.jsonl").write_text("\n".join(json.dumps({"document": f"Chapter {i}."}) for i in range(3)))
    loaded = load_file(tmp_path / "book.jsonl")
    assert loaded.columns == ["text"] and loaded.rows[0] == {"text": "Chapter 0."}
    assert "every row holds only 'document'" in loaded.warnings[0]
    (tmp_path / "two.jsonl").write_text(json.dumps({"content": "a", "id": 1}))
    assert load_file(tmp_path / "two.jsonl").columns == ["content", "id"]  # not documents: left as they are


def test_blocks_split_on_blank_lines_only_outside_code_fences():
    text = "A\r\nstill A\n\n\n~~~\nx\n\ny\n~~~\n \nB"
    assert split_blocks(text.replace("\r\n", "\n")) == [(1, "A\nstill A"), (5, "~~~\nx\n\ny\n~~~"), (11, "B")]
    assert split_blocks("\n\n") == []


def test_switching_between_blocks_and_one_document_per_file():
    blocks = load_file(SHAPES / "plain_notes.txt")
    whole = resplit_documents(blocks, "file")
    assert whole.n_rows == 1 and whole.text_split == "file" and whole.line_numbers is None
    again = resplit_documents(whole, "blocks")
    assert [row["text"] for row in again.rows] == [row["text"] for row in blocks.rows]
    exact = resplit_documents(load_file(SHAPES / "plain_notes.txt", text_split="file"), "blocks")
    assert list(exact.line_numbers) == list(blocks.line_numbers)  # from the whole file, the lines are exact


@pytest.mark.parametrize(
    ("stats", "total", "model_max", "size", "why"),
    [
        (LengthStats(50, 200, 900, 1000, 1500, 260.0), 100_000, None, 512, "Most documents are short"),
        (LengthStats(3, 1500, 1800, 1800, 1800, 1500.0), 4_500, None, 512, "would make only 3"),
        (LengthStats(90, 3000, 9000, 9000, 9000, 3500.0), 300_000, None, 2048, "suggested start, 2048"),
        (LengthStats(90, 3000, 9000, 9000, 9000, 3500.0), 300_000, 1024, 1024, "capped at 1,024"),
        (LengthStats(0, 0, 0, 0, 0, 0.0), 0, None, 2048, "No document was measured"),
    ],
)
def test_the_block_size_comes_from_the_document_lengths(stats, total, model_max, size, why):
    chosen, reason = recommend_block_size(stats, total, model_max)
    assert chosen == size and why in reason and "Training Hub guide" in reason


def test_blocks_are_counted_as_trl_packs_them_per_batch_of_1000_documents():
    assert count_blocks([100] * 2000, 512) == 2 * -(-100_000 // 512)
    assert count_blocks([1024, 1024], 512) == 4


def test_packing_reaches_sft_config_wrapped_and_without_padding_free(tmp_path):
    args = build_sft_config(RunConfig(packing=True, max_length=2048), tmp_path, CPU)
    assert args.packing is True and args.packing_strategy == "wrapped" and args.max_length == 2048
    assert not args.padding_free  # "wrapped" needs no FlashAttention; TRL forces padding-free only for "bfd"
    plain = build_sft_config(RunConfig(), tmp_path, CPU)
    assert plain.packing is False


def test_the_packed_preview_is_exactly_the_trainers_first_blocks(tmp_path, tiny_model_path, data_tokenizer):
    from datasets import Dataset
    from trl import SFTTrainer

    from core.data.packed_preview import render_packed_preview

    rows = [{"text": row["text"]} for row in load_file(SHAPES / "documents.jsonl").rows if row["text"].strip()]
    preview = render_packed_preview(rows, data_tokenizer, 512, n=2)
    args = build_sft_config(RunConfig(packing=True, max_length=512, method="full"), tmp_path, CPU, has_eval=False)
    trainer = SFTTrainer(
        model=str(tiny_model_path), args=args, train_dataset=Dataset.from_list(rows), processing_class=data_tokenizer
    )
    for block, shown in zip(trainer.train_dataset, preview, strict=False):
        assert list(block["input_ids"]) == shown.token_ids and list(block["labels"]) == shown.labels
    assert [len(b.token_ids) for b in preview] == [512, 512] and all(b.n_loss_tokens == 512 for b in preview)


@pytest.mark.slow
def test_a_txt_file_trains_packed_on_the_offline_model(tmp_path, offline_model_path, data_tokenizer):
    """The Data step's path for a .txt file, then a few steps of SmolLM2-135M on its packed blocks."""
    import math

    from core.data.wizard import new_dataset_folder, split_dataset, write_dataset
    from core.file_access import owner_datasets
    from core.models.catalog import OFFLINE_MODEL_ID
    from core.paths import data_dir
    from core.runs.manager import RunManager

    notes = tmp_path / "notes.txt"
    notes.write_text((SHAPES / "plain_notes.txt").read_text() + "\n\n" + (SHAPES / "handbook.md").read_text())
    draft = draft_dataset(load_file(notes), "notes")
    check = check_dataset(draft, data_tokenizer, model_id=OFFLINE_MODEL_ID, max_length=128)  # small blocks: fast
    folder = write_dataset(split_dataset(check, 0.1, 0), new_dataset_folder(owner_datasets("tester", data_dir()), "n"))
    config = RunConfig(
        model_id=OFFLINE_MODEL_ID, dataset=str(folder), packing=draft.packed, max_length=check.max_length,
        max_steps=3, per_device_batch_size=2, gradient_accumulation_steps=1, logging_steps=1, eval_steps=0,
        sample_every=0, num_probe_prompts=0,
    )  # fmt: skip
    manager = RunManager(tmp_path / "runs")
    snap = manager.wait(manager.start(config, owner="tester").run_id, timeout=900)
    assert snap.phase == "finished", snap.error_detail
    losses = [m["loss"] for m in snap.metrics]
    assert len(losses) == 3 and all(math.isfinite(loss) and loss > 0 for loss in losses), losses
    # Two blocks per step (one may be the short last one): over 128 tokens, where two documents (58 tokens at most
    # here) unpacked would be under it.
    assert 128 < snap.metrics[0]["num_tokens"] <= 2 * 128
