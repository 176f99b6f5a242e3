"""Files exported from other tools, uploaded in a real browser: what the page says about them.

Screenshots (1366x768) go to ``test-artifacts/screenshots/02-shapes-*.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import chromium_page, shot

SHAPES = Path(__file__).parent / "data" / "real_shapes"
pytestmark = pytest.mark.browser


def upload(page, name: str) -> None:
    page.get_by_role("tab", name="Upload a file").click()
    clear = page.locator("#data-upload button[aria-label='Clear']")
    if clear.count():
        clear.first.click()
    page.locator("#data-upload input[type=file]").set_input_files(str(SHAPES / name))
    page.locator("#data-detected").get_by_text(name).first.wait_for(timeout=60_000)


def test_a_preference_file_and_a_labelled_file_say_what_is_trained(server):
    with chromium_page() as (page, errors):
        page.goto(server.url)
        page.get_by_role("tab", name="2 · Data").click()
        page.locator("#training-preview .sft-loss").first.wait_for(timeout=120_000)

        # LLaMA-Factory's preference pairs: read as pairs, trained on the chosen answers, the rejected ones named.
        upload(page, "preference_sharegpt.json")
        detected = page.locator("#data-detected")
        assert "preference pairs (a chosen and a rejected answer)" in detected.inner_text()
        fates = page.locator("#column-fates").inner_text()
        assert "rejected\tignored" in fates and "the worse answer of each pair" in fates and "DPO" in fates
        page.locator("#data-validation").get_by_text("6 of 7 rows will be trained").wait_for()
        page.wait_for_function(
            "() => [...document.querySelectorAll('#training-preview .sft-loss')]"
            ".some(s => s.textContent.includes('Canberra'))",
            timeout=60_000,
        )
        assert "the rejected answers are not used" in page.locator("#mapped-preview").inner_text()
        assert page.locator("#column-mapping").count() == 1  # the column box is there, closed
        shot(page, "02-shapes-preference", "#data-detected")

        # KTO-style labels: only the rows marked good, and one tick trains every row.
        upload(page, "kto_labels.jsonl")
        page.locator("#data-validation").get_by_text("4 of 8 rows will be trained").wait_for()
        assert "marked not good by its label or score" in page.locator("#data-validation").inner_text()
        every = page.locator("#train-every-row")
        assert "also the 4 that 'label' does not mark good" in every.inner_text()
        shot(page, "02-shapes-labels", "#train-every-row")
        every.locator("input").check()
        page.locator("#data-validation").get_by_text("8 of 8 rows will be trained").wait_for()

        # Images: the rows are left out, or trained on their text once the images are dropped.
        upload(page, "llava_images.jsonl")
        page.locator("#data-validation").get_by_text("1 of 3 rows will be trained").wait_for()
        assert "leaves rows out" in page.locator("#column-fates").inner_text()
        page.locator("#drop-media input").check()
        page.locator("#data-validation").get_by_text("3 of 3 rows will be trained").wait_for()
        assert "<image>" not in page.locator("#mapped-preview").inner_text()
        assert "you chose to drop the images" in page.locator("#column-fates").inner_text()
        shot(page, "02-shapes-images")

        # Tool calls exported in OpenAI's format: trained, and the page says how SmolLM2 will see the tools.
        upload(page, "openai_tools.jsonl")
        page.locator("#data-validation").get_by_text("3 of 4 rows will be trained").wait_for()
        assert "the tools each row offers" in page.locator("#column-fates").inner_text()
        assert "can't be read as JSON" in page.locator("#data-validation").inner_text()
        page.locator("#preview-model").get_by_text("can't render tools", exact=False).wait_for(timeout=120_000)
        assert "Hermes" in page.locator("#preview-model").inner_text()
        page.wait_for_function(
            "() => [...document.querySelectorAll('#training-preview .sft-loss')]"
            ".some(s => s.textContent.includes('<tool_call>'))",
            timeout=60_000,
        )
        shot(page, "02-shapes-tools")
        assert not errors, errors
