"""Readable run names: dataset · model · start time, instead of run ids."""

from __future__ import annotations

import time

from core.runs.names import distinct_names, readable_run_name


def test_a_run_is_named_by_its_data_model_and_start_time():
    start = time.mktime((2026, 3, 14, 14, 5, 30, 0, 0, -1))
    same_day = start + 3600
    name = readable_run_name("json_extraction", "HuggingFaceTB/SmolLM2-135M-Instruct", start, now=same_day)
    assert name == "json-extraction · SmolLM2-135M · 14:05"
    folder = "/data/owners/ann/datasets/support-tickets-jsonl-20260314-140000-a1b2c3"
    next_day = readable_run_name(folder, "/models/tiny", start, now=start + 86400)
    assert next_day == "support-tickets-jsonl · tiny · 14 Mar 14:05"
    assert readable_run_name("x.jsonl", "m", start, now=start + 400 * 86400).endswith("14 Mar 2026 14:05")
    assert distinct_names([name, name]) == [name, f"{name} (2)"]  # two runs started the same minute
