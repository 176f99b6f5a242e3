"""Turn the dataset the user picked into what the trainer gets: train/eval splits and probe prompts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.data.errors import DataError
from core.data.readers.json_files import read_jsonl
from core.data.to_trl import ColumnMapping, prompt_messages, reference_answer, to_conversational_prompt_completion

__all__ = ["DataError", "PreparedData", "load_demo_rows", "own_probes", "prepare_training_data"]


@dataclass
class PreparedData:
    """Rows ready for ``SFTTrainer`` plus the held-out prompts to watch during training."""

    train_rows: list[dict]
    eval_rows: list[dict]
    probes: list[dict] = field(default_factory=list)  # {"messages": [...prompt...], "reference": str}
    description: str = ""

    def to_datasets(self):
        from core.data.tool_templates import dataset_from_rows

        train = dataset_from_rows(self.train_rows)
        evaluation = dataset_from_rows(self.eval_rows) if self.eval_rows else None
        return train, evaluation


def _read_jsonl(path: Path) -> list[dict]:
    # Strict: the wizard has already checked and exported these rows, so a broken line here is a real error.
    return read_jsonl(path, path.name, on_bad_lines="error").rows


def own_probes(prompts: list[str]) -> list[dict]:
    """The user's own probe prompts, asked as a single user turn; they have no expected answer.

    >>> own_probes(["Extract: Ada, 36, lives in London."])
    [{'messages': [{'role': 'user', 'content': 'Extract: Ada, 36, lives in London.'}], 'reference': ''}]
    """
    return [{"messages": [{"role": "user", "content": p.strip()}], "reference": ""} for p in prompts if p.strip()]


def _probes_from(rows: list[dict], count: int) -> list[dict]:
    probes = []
    for row in rows[:count]:
        probes.append({"messages": prompt_messages(row), "reference": reference_answer(row)})
    return probes


def load_demo_rows(name: str) -> tuple[list[dict], list[dict], str]:
    """Rows of a built-in demo, converted to a TRL format with the demo's suggested mapping."""
    from core.demo_data import DEMO_DATASETS, generate_demo

    demo = DEMO_DATASETS[name]
    splits = generate_demo(name, seed=0)
    train, test = splits["train"], splits["test"]
    if demo.suggested_mapping:
        mapping = ColumnMapping(**demo.suggested_mapping)
        train = [to_conversational_prompt_completion(r, mapping) for r in train]
        test = [to_conversational_prompt_completion(r, mapping) for r in test]
    return train, test, demo.title


def prepare_training_data(
    source: str, num_probes: int = 3, eval_fraction: float = 0.05, seed: int = 42, tokenizer=None, model_name: str = ""
) -> PreparedData:
    """Load ``source`` (a demo name, a JSONL file, or a folder with train.jsonl [+ test.jsonl]).

    Demos come with a held-out test split: it becomes the validation set and
    supplies the probe prompts. Other data gets a seeded ``eval_fraction``
    split (~5%) and probes from it. With the model's ``tokenizer``, tool rows its chat template can't render
    are written as text, as the Data step showed them (core/data/tool_templates.py); the note says so.
    """
    from core.demo_data import DEMO_DATASETS

    if source in DEMO_DATASETS:
        train, held_out, title = load_demo_rows(source)
        train, held_out, note = _for_template(train, held_out, tokenizer, model_name)
        return PreparedData(train, held_out, _probes_from(held_out, num_probes), f"Built-in demo: {title}{note}")
    path = Path(source).expanduser()
    if path.is_dir():
        train_file, test_file = path / "train.jsonl", path / "test.jsonl"
        if not train_file.is_file():
            raise DataError(f"The folder {path} has no train.jsonl.")
        train = _read_jsonl(train_file)
        held_out = _read_jsonl(test_file) if test_file.is_file() else []
    elif path.is_file():
        train, held_out = _read_jsonl(path), []
    else:
        raise DataError(
            f"'{source}' is neither a built-in demo ({', '.join(DEMO_DATASETS)}) nor an existing file or folder."
        )
    if not train:
        raise DataError(f"{path} has no rows to train on.")
    if not held_out and len(train) >= 20:
        import random

        order = list(range(len(train)))
        random.Random(seed).shuffle(order)
        n_eval = max(1, int(len(train) * eval_fraction))
        held = set(order[:n_eval])
        held_out = [train[i] for i in sorted(held)]
        train = [row for i, row in enumerate(train) if i not in held]
    train, held_out, note = _for_template(train, held_out, tokenizer, model_name)
    conversational = [r for r in held_out if "messages" in r or isinstance(r.get("prompt"), list)]
    return PreparedData(train, held_out, _probes_from(conversational, num_probes), f"File: {path.name}{note}")


def _for_template(train: list[dict], held_out: list[dict], tokenizer, model_name: str):
    if tokenizer is None:
        return train, held_out, ""
    from core.data.tool_templates import rows_for_template

    train, note = rows_for_template(train, tokenizer, model_name or "This model")
    held_out, _ = rows_for_template(held_out, tokenizer, model_name or "This model")
    return train, held_out, f". {note}" if note else ""
