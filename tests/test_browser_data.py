"""The Data step in a real browser: a beginner maps the word-problems columns, sees exactly what will be trained,
uses it, and then uploads a broken file without losing that choice.

Screenshots (1366x768) go to ``test-artifacts/screenshots/02-data-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import BAD_DIR
from tests.browser import chromium_page, shot

pytestmark = pytest.mark.browser


def dropdown_value(page, part: str) -> str:
    return page.locator(f"#map-{part} input").input_value()


def test_map_preview_use_then_a_broken_upload_keeps_the_choice(server):
    with chromium_page() as (page, errors):
        page.goto(server.url)
        page.get_by_role("tab", name="2 · Data").click()

        # The default demo is checked with the model's tokenizer as soon as the page opens.
        page.locator("#training-preview .sft-loss").first.wait_for(timeout=120_000)
        assert "Loss on the completion only" in page.locator("#loss-advice-box").inner_text()
        shot(page, "02-data-default", "#data-detected")

        # Word problems: raw columns, so the mapping appears prefilled from the column names.
        page.locator("#demo-choice").get_by_text("word problems", exact=False).click()
        page.locator("#data-detected").get_by_text("your own columns").first.wait_for()
        page.locator("#data-preview").get_by_text("Complex_CoT").first.wait_for()
        page.locator("#column-mapping").first.wait_for()
        assert [dropdown_value(page, p) for p in ("prompt", "completion", "reasoning")] == [
            "Question", "Response", "Complex_CoT",
        ]  # fmt: skip
        assert "conversational prompt-completion" in page.locator("#target-format").inner_text()
        page.locator("#mapped-preview").get_by_text("<think>", exact=False).first.wait_for()
        shot(page, "02-data-mapping", "#column-mapping")

        # Picking the answer column as the prompt too is refused, and the mapping in use stays.
        page.locator("#map-prompt input").click()
        page.get_by_role("option", name="Response").click()
        page.locator("#data-message").get_by_text("is picked twice").wait_for()
        assert "still use the previous choice" in page.locator("#data-message").inner_text()
        page.locator("#map-prompt input").click()
        page.get_by_role("option", name="Question").click()
        page.locator("#data-message").get_by_text("is picked twice").wait_for(state="detached")

        # What will be trained: the chat template applied, the answer (with its <think> block) highlighted.
        preview = page.locator("#training-preview")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#training-preview .sft-loss')]"
            ".some(s => s.textContent.startsWith('<think>'))",
            timeout=60_000,
        )
        trained = " ".join(preview.locator(".sft-loss").all_inner_texts())
        context = " ".join(preview.locator(".sft-context").all_inner_texts())
        assert "</think>" in trained and "The answer is" in trained and "<|im_end|>" in trained
        assert "<|im_start|>user" in context and "<think>" not in context
        assert "learns to stop" in preview.inner_text()
        validation = page.locator("#data-validation").inner_text()
        assert "1,000 of 1,000 rows will be trained." in validation
        lengths = page.locator("#length-info").inner_text()
        assert "p95" in lengths and "Recommended max length: 512 tokens" in lengths
        assert "Training Hub's hyperparameter guide" in lengths and "sft-facts" not in lengths
        assert "nothing will be truncated" in lengths
        assert page.locator("#length-histogram .js-plotly-plot").count() == 1
        assert "provided validation split (100 rows)" in page.locator("#split-summary").inner_text()
        shot(page, "02-data-preview", "#training-preview")
        shot(page, "02-data-word-problems-full")

        # Use it: the rows are written to a folder the trainer reads, and the Train step says so.
        page.locator("#use-dataset").click()
        page.locator("#use-message").get_by_text("Wrote 1,000 training and 100 validation rows").wait_for()
        page.locator("#data-in-use").get_by_text("1,000 training rows", exact=False).wait_for()
        in_use = page.locator("#data-in-use").inner_text()
        assert re.search(r"datasets/[0-9a-f]{24}/word-problems-", in_use) and "1,000 training rows" in in_use
        folder = in_use.split("Training will use: ")[1].split(",")[0].strip()
        assert (Path(folder) / "train.jsonl").is_file() and (Path(folder) / "test.jsonl").is_file()
        shot(page, "02-data-used", "#use-dataset")

        # A binary file: a clear message, and the data and the choice stay as they were.
        page.get_by_role("tab", name="Upload a file").click()
        page.locator("#data-upload input[type=file]").set_input_files(str(BAD_DIR / "binary.jsonl"))
        message = page.locator("#data-message")
        message.get_by_text("Could not use binary.jsonl").wait_for()
        assert "Upload a JSONL, JSON, CSV or Parquet file" in message.inner_text()
        assert "Arithmetic word problems" in page.locator("#data-detected").inner_text()
        assert page.locator("#data-in-use").inner_text() == in_use
        shot(page, "02-data-bad-upload", "#data-upload")

        # A file with a broken line loads, saying which line was skipped.
        page.locator("#data-upload button[aria-label='Clear']").first.click()
        page.locator("#data-upload input[type=file]").set_input_files(str(BAD_DIR / "broken_line.jsonl"))
        page.locator("#data-detected").get_by_text("broken_line.jsonl").first.wait_for()
        assert "skipped 1 line(s) that could not be read: line 4" in page.locator("#data-message").inner_text()
        assert page.locator("#data-in-use").inner_text() == in_use  # not used until "Use this dataset"

        # The Hub is off limits here: loading from it fails at once, saying why and what to do instead.
        page.get_by_role("tab", name="Hugging Face Hub").click()
        page.get_by_label("Dataset id").fill("HuggingFaceH4/no_robots")
        page.locator("#hub-load").click()
        message.get_by_text("HF_HUB_OFFLINE is set").wait_for(timeout=15_000)
        assert "Upload a file, pick a built-in demo" in message.inner_text()
        assert "broken_line.jsonl" in page.locator("#data-detected").inner_text()

        page.get_by_role("tab", name="4 · Train").click()
        page.locator("#train-summary").get_by_text(folder).wait_for()
        assert not errors, errors


SHAPES = Path(__file__).resolve().parent / "data" / "real_shapes"
SHOTS_HERE = Path(__file__).resolve().parent.parent / "shots"  # looked at by hand, never committed


def test_a_txt_upload_is_plain_text_every_token_trained_in_blocks(server):
    with chromium_page() as (page, errors):
        page.goto(server.url)
        page.get_by_role("tab", name="2 · Data").click()
        page.locator("#training-preview .sft-loss").first.wait_for(timeout=120_000)
        page.get_by_role("tab", name="Upload a file").click()
        page.locator("#data-upload input[type=file]").set_input_files(str(SHAPES / "plain_notes.txt"))
        page.locator("#documents-shape").get_by_text("Plain text: 6 documents").wait_for(timeout=60_000)
        assert "one document per blank-line-separated block" in page.locator("#documents-shape").inner_text()
        assert page.locator("#text-split").is_visible()
        page.locator("#training-preview").get_by_text("Block 1").first.wait_for(timeout=120_000)
        advice = page.locator("#loss-advice-box").inner_text()
        assert (
            "Plain text: every token is trained (no prompt/answer), documents are joined and cut into blocks of "
            "512 tokens." in advice
        )
        assert page.locator("#training-preview .sft-preview-row .sft-context").count() == 0  # no prompt: no context
        assert "165 of 165 tokens carry loss" in page.locator("#training-preview").inner_text()
        lengths = page.locator("#length-info").inner_text()
        assert "Recommended block size: 512 tokens" in lengths and "Most documents are short" in lengths
        assert "6 of 6 rows will be trained." in page.locator("#data-validation").inner_text()
        SHOTS_HERE.mkdir(exist_ok=True)
        page.locator("#data-detected").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(SHOTS_HERE / "txt-upload.png"))
        page.locator("#training-preview").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(SHOTS_HERE / "txt-upload-preview.png"))
        shot(page, "02-data-plain-text", "#data-detected")

        page.locator("#use-dataset").click()
        page.locator("#data-in-use").get_by_text("packed into blocks of 512 tokens", exact=False).wait_for()
        assert not errors, errors


def test_a_file_needing_a_mapping_after_a_good_one_clears_the_old_results(server, tmp_path):
    odd = tmp_path / "odd_columns.jsonl"
    odd.write_text('{"alpha": "What is 2 + 2?", "beta": "4"}\n' * 4)
    with chromium_page() as (page, errors):
        page.goto(server.url)
        page.get_by_role("tab", name="2 · Data").click()
        page.locator("#training-preview .sft-loss").first.wait_for(timeout=120_000)
        page.locator("#split-summary").get_by_text("validation", exact=False).first.wait_for()
        assert page.locator("#use-dataset").is_enabled()
        page.get_by_role("tab", name="Upload a file").click()
        page.locator("#data-upload input[type=file]").set_input_files(str(odd))
        page.locator("#data-detected").get_by_text("odd_columns.jsonl").first.wait_for()
        preview = page.locator("#training-preview")
        preview.get_by_text("Pick the prompt and answer columns first").wait_for()
        assert preview.locator(".sft-loss").count() == 0  # the demo's preview is gone
        page.locator("#split-summary").get_by_text("The split is made from the rows that pass the checks").wait_for()
        assert not page.locator("#report-download").is_visible() and not page.locator("#export-jsonl").is_visible()
        assert page.locator("#length-histogram .js-plotly-plot").count() == 0
        assert page.locator("#use-dataset").is_disabled()
        assert "Pick the prompt and answer columns first" in page.locator("#use-reason").inner_text()
        assert "being checked" not in page.content()
        shot(page, "02-data-needs-mapping-cleared", "#training-preview")
        assert not errors, errors
