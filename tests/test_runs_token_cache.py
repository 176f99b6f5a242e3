"""Tokenised data kept by content hash (core/runs/token_cache.py): the same losses, whatever the key tells apart."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from core.paths import data_dir
from core.runs.manager import RunManager
from core.runs.token_cache import KEEP, keep_tokenised, read_tokenised, tokenised_key


def _losses(tmp_path, name: str, **settings) -> list[float]:
    manager = RunManager(tmp_path / name)
    job = manager.start(RunConfig(model_id=TINY_MODEL_ID, sample_every=0, **settings), owner="tester")
    snap = manager.wait(job.run_id, timeout=900)
    assert snap.phase == "finished", snap.error_detail
    return [m["loss"] for m in snap.metrics]


@pytest.mark.parametrize("dataset", ["json_extraction", "word_problems"])  # conversations; prompt-completion
def test_a_run_on_tokenised_data_kept_by_an_earlier_run_trains_to_the_same_losses(tmp_path, tiny_model_path, dataset):
    first = _losses(tmp_path, "first", max_steps=3, dataset=dataset)  # TRL tokenises; the result is kept
    entries = list((data_dir() / "tokenised").iterdir())
    assert len(entries) == 1 and (entries[0] / "train").is_dir()
    second = _losses(tmp_path, "second", max_steps=3, dataset=dataset)  # read back: TRL's preparation skipped
    assert second == first
    assert len(list((data_dir() / "tokenised").iterdir())) == 1  # the same key: nothing new was written
    _losses(tmp_path, "third", max_steps=1, dataset=dataset, max_length=64)  # another max length: another key
    assert len(list((data_dir() / "tokenised").iterdir())) == 2


class _Tokenizer:
    name_or_path, chat_template, eos_token, pad_token = "tok", "{{ messages }}", "</s>", "</s>"

    def __len__(self) -> int:
        return 100

    def __call__(self, text: str) -> dict:
        return {"input_ids": [ord(c) % 100 for c in text]}


def test_the_key_tells_apart_the_rows_the_tokenizer_and_the_settings():
    from datasets import Dataset

    def chat(answer: str) -> Dataset:
        turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": answer}]
        return Dataset.from_list([{"messages": turns}])

    rows, other = chat("b"), chat("c")
    args = SimpleNamespace(max_length=512, packing=False, seed=42)
    key = tokenised_key(rows, None, _Tokenizer(), args)
    assert key == tokenised_key(rows, None, _Tokenizer(), SimpleNamespace(max_length=512, packing=False, seed=42))
    assert key != tokenised_key(other, None, _Tokenizer(), args)  # one answer differs
    assert key != tokenised_key(rows, other, _Tokenizer(), args)  # validation rows count too
    assert key != tokenised_key(rows, None, _Tokenizer(), SimpleNamespace(max_length=1024, packing=False, seed=42))
    templated = _Tokenizer()
    templated.chat_template = "{{ other }}"
    assert key != tokenised_key(rows, None, templated, args)


def test_only_whole_entries_are_read_and_the_newest_are_kept():
    from datasets import Dataset

    rows = Dataset.from_list([{"input_ids": [1, 2], "labels": [1, 2]}])
    assert read_tokenised("nothing-here") is None
    broken = data_dir() / "tokenised" / "broken"
    (broken / "train").mkdir(parents=True)
    assert read_tokenised("broken") is None  # a folder without a dataset: the run prepares its data itself
    for n in range(KEEP + 2):
        keep_tokenised(f"key-{n}", rows, None)
    kept = read_tokenised(f"key-{KEEP + 1}")
    assert kept is not None and kept[0]["input_ids"] == [[1, 2]] and kept[1] is None
    names = {p.name for p in (data_dir() / "tokenised").iterdir()}
    assert len(names) == KEEP and f"key-{KEEP + 1}" in names and "key-0" not in names
