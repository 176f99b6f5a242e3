"""Fixtures shared by the tests/test_data_*.py modules (imported with ``from tests.data_fixtures import *``).

The tiny random Llama (SmolLM2's tokenizer and chat template) is built once
per machine in ``SFT_COACH_CACHE`` (``~/.cache/sft-coach`` unless set) by
``core.models.catalog.ensure_tiny_model``; these fixtures only load it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BAD_DIR = Path(__file__).resolve().parent / "data" / "bad"

__all__ = ["BAD_DIR", "data_model_path", "data_tokenizer", "four_format_rows"]


@pytest.fixture(scope="session")
def data_model_path() -> Path:
    from core.models.catalog import ensure_tiny_model

    return ensure_tiny_model()


@pytest.fixture(scope="session")
def data_tokenizer(data_model_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(data_model_path)


def _four_format_rows() -> dict[str, list[dict]]:
    """A few rows in each of TRL's four formats, built by the wizard's own converters from demo-like raw rows."""
    from core.data.convert import convert_rows
    from core.data.to_trl import ColumnMapping

    raw = [
        {
            "Question": f"Sam has {i} apples and buys {i + 2} more. How many now?",
            "Complex_CoT": f"{i} + {i + 2} = {2 * i + 2}.",
            "Response": f"The answer is {2 * i + 2}.",
            "System": "You solve word problems." if i % 2 else "",
        }
        for i in range(1, 9)
    ]
    mapping = ColumnMapping("Question", "Response", system="System", reasoning="Complex_CoT")
    out = {}
    for target in ("text", "prompt_completion", "messages", "conversational_prompt_completion"):
        conversion = convert_rows(raw, "raw_columns", target, mapping)
        assert not conversion.failures, conversion.failures
        out[target] = conversion.rows
    return out


@pytest.fixture(scope="session")
def four_format_rows() -> dict[str, list[dict]]:
    return _four_format_rows()
