"""No page text cites the team's internal notes: every source the page names is a public page, in words, linked.

The app is built with its factory (as app.py does, without launching it) and every component's label, info and
value is read; then the HTML the steps render on the built-in demo: the Data step's check of the demo, the
Settings cards of every preset, the learning-rate sources, the Train step's diagnoses and chart guide.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID

INTERNAL = ("sft-facts", "§", "shared/reference", "STYLE.md")


def _texts(value: Any) -> list[str]:
    """Every string inside a component value, an update dict, or a list/tuple of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    constructor_args = getattr(value, "constructor_args", None)  # a component returned as an update
    return _texts(constructor_args) if isinstance(constructor_args, dict) else []


def _assert_public(texts: list[str], where: str) -> None:
    for text in texts:
        for mark in INTERNAL:
            assert mark not in text, f"{where}: {mark!r} in {text[:300]!r}"


def test_no_component_of_the_built_page_names_an_internal_document(tiny_model_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("SFT_COACH_ADMIN_PASSWORD", "s3cret")  # the whole page: the admin tab and workshop mode too
    demo = create_app()
    texts = []
    for block in demo.blocks.values():
        for attribute in ("label", "info", "value", "placeholder", "choices"):
            texts += _texts(getattr(block, attribute, None))
    assert len(texts) > 100  # the whole page was read, not an empty shell
    _assert_public(texts, "page")


def test_the_data_steps_check_of_the_demo_cites_only_public_pages(tiny_model_path, request_as):
    from ui.data_check import RowChecks
    from ui.data_outputs import CHECK_OUTPUTS

    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()
    updates = RowChecks().check_with_model(None, values, True, None, request_as("ann"), lambda *a, **k: None)
    shown = dict(zip(CHECK_OUTPUTS, updates, strict=True))
    texts = _texts([value for name, value in shown.items() if name != "check"])
    assert any("Recommended max length" in text for text in texts)
    _assert_public(texts, "data step")
    lengths = next(text for text in texts if "Recommended max length" in text)
    assert "href='https://ai-innovation.team/training_hub/#/'" in lengths  # the rule's source, as a link


@pytest.mark.parametrize("name", ["Quick demo", "Balanced", "Thorough"])
def test_the_settings_of_every_preset_cite_only_public_pages(tiny_model_path, name):
    from ui.settings import OUTPUT_NAMES, apply_preset, show_start

    shown = dict(zip(OUTPUT_NAMES, apply_preset(name, "lora", TINY_MODEL_ID, RunConfig().to_dict()), strict=True))
    texts = _texts([shown["cards"], shown["fit"], shown["lr_sources"], shown["preset_info"], shown["message"]])
    texts += _texts(list(show_start(RunConfig(model_id=TINY_MODEL_ID).to_dict())))
    _assert_public(texts, name)
    assert "<a href='https://" in shown["cards"] and "](https://" in shown["lr_sources"]


def _curve(losses: list[float], evals: dict[int, float] | None = None) -> tuple[list[dict], list[dict]]:
    metrics = [{"step": i + 1, "loss": loss, "grad_norm": 1.0} for i, loss in enumerate(losses)]
    return metrics, [{"step": step, "eval_loss": value} for step, value in (evals or {}).items()]


def test_every_diagnosis_and_the_chart_guide_cite_only_public_pages():
    from core.diagnosis import diagnose
    from ui.train import EXTRA_METRICS
    from ui.train_views import render_chart_guide, render_diagnosis

    falling = [2.5 * math.exp(-i / 20) + 0.8 for i in range(100)]
    curves = {
        "healthy": _curve(falling, {50: 1.0, 100: 0.95}),
        "overfitting": _curve([2.5 - i / 50 for i in range(100)], {25: 1.6, 50: 1.8, 75: 2.1, 100: 2.4}),
        "underfitting": _curve([2.5 + 0.01 * (i % 3) for i in range(100)]),
        "memorisation": _curve([2.0 * math.exp(-i / 5) + 0.001 for i in range(100)]),
        "unstable": _curve([1.5 + (8 if i % 17 == 0 else 0) for i in range(100)]),
        "nan": _curve([2.0, 1.8, float("nan"), 1.7]),
        "zero": _curve([2.0, *[0.0] * 20]),
    }
    statuses = set()
    for name, (metrics, evals) in curves.items():
        diagnosis = diagnose(metrics, evals, 100)
        statuses.add(diagnosis.status)
        page = render_diagnosis(diagnosis)
        _assert_public([page], name)
        assert "<a href='https://" in page, name  # its source opens
    assert len(statuses) >= 4  # the rules themselves were reached, not one fallback
    guide = render_chart_guide(EXTRA_METRICS)
    _assert_public([guide], "chart guide")
    assert "Gradient norm" in guide and "Entropy" in guide and "<abbr title=" in guide
