"""The Settings step in a real browser: presets explain themselves, edits are validated, the fit check is live.

Runs the launched app with the tiny model preselected; screenshots go to
``test-artifacts/screenshots`` (03-settings-beginner / 03-settings-advanced).
"""

from __future__ import annotations

import re

import pytest

from core.models.catalog import TINY_MODEL_ID
from tests.browser import chromium_page, open_tab, shot, wait_for

pytestmark = pytest.mark.browser


def _number(page, name: str):
    return page.locator(f"#field-{name} input[type=number]")


def test_presets_fit_check_validation_and_recipe_export(server):
    with chromium_page() as (page, errors):
        page.goto(server.url)
        open_tab(page, "3 · Settings")
        cards = page.locator("#settings-cards")
        # Beginner view: the Quick demo's numbers, each with a why and a source.
        cards.get_by_text("Learning rate").wait_for(timeout=60_000)
        for text in ("1.0e-03", "4 x 1", "512", "60", "Source: Tinker's learning-rate guidance"):
            cards.get_by_text(text, exact=False).first.wait_for()
        fit = page.locator("#fit-panel")
        fit.get_by_text("fits", exact=True).wait_for()
        fit.get_by_text("Time:").wait_for()
        qlora = page.locator("#method-choice").get_by_text("QLoRA is off here", exact=False)
        qlora.wait_for()
        shot(page, "03-settings-beginner")

        # Balanced: Training Hub's batch for 1,000 rows (128) would be 24 steps, under Tinker's 100, so it takes 16
        # (4 x 4 on a CPU) and says why; no warning against itself, and the caption gives Balanced's own numbers.
        preset = page.locator("#preset-choice")
        preset.get_by_role("radio", name=re.compile(r"^Balanced")).click()  # its label ends with its whole-run time
        cards.get_by_text("4 x 4", exact=True).wait_for(timeout=60_000)
        cards.get_by_text("under the 100 Tinker advises", exact=False).wait_for()
        assert "Tinker advises at least 100" not in cards.inner_text()
        preset.get_by_text("Balanced: ", exact=False).wait_for()
        assert "60 optimizer steps" not in preset.inner_text() and "Quick demo:" not in preset.inner_text()
        link = cards.locator("a", has_text="Training Hub's hyperparameter guide").first
        assert link.get_attribute("href") == "https://ai-innovation.team/training_hub/#/"

        # Advanced: a bad value names the field and the fix, and nothing else changes.
        page.locator("#advanced-settings").get_by_text("Advanced: every setting").click()
        assert _number(page, "gradient-accumulation-steps").input_value() == "4"
        _number(page, "warmup-ratio").fill("1.5")
        _number(page, "warmup-ratio").press("Enter")
        page.locator("#settings-message").get_by_text("Warmup ratio (warmup_ratio)", exact=False).wait_for()
        assert "between 0 and 1" in page.locator("#settings-message").inner_text()
        assert _number(page, "gradient-accumulation-steps").input_value() == "4"  # the user's state is kept

        # A good edit updates the card (with what the preset suggested) and the time estimate.
        before = fit.inner_text()
        _number(page, "warmup-ratio").fill("0.1")
        _number(page, "warmup-ratio").press("Enter")
        _number(page, "per-device-batch-size").fill("2")
        _number(page, "per-device-batch-size").press("Enter")
        cards.get_by_text("2 x 4", exact=True).wait_for()
        cards.get_by_text("You changed this", exact=False).wait_for()
        wait_for(lambda: fit.inner_text() != before, what="the fit panel to update")
        page.locator("#lr-sources").get_by_text("Tinker formula", exact=False).first.wait_for()
        shot(page, "03-settings-advanced")

        # The recipe: YAML in a code box, files to download.
        page.locator("#recipe-export").get_by_text("Export a recipe", exact=False).click()
        page.locator("#export-recipe").click()
        page.locator("#recipe-yaml").get_by_text("per_device_train_batch_size", exact=False).wait_for(timeout=60_000)
        files = page.locator("#recipe-files")
        wait_for(lambda: "train_sft" in files.inner_text() and "recipe" in files.inner_text(), what="the files")
        page.locator("#recipe-commands").get_by_text("trl sft --config recipe.yaml", exact=False).wait_for()

        # The Train step sees the edited settings.
        open_tab(page, "4 · Train")
        page.locator("#train-summary").get_by_text(TINY_MODEL_ID).wait_for()
        assert not errors, errors
