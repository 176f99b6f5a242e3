"""Turn the dataset the user picked into what the trainer gets: train/eval splits and probe prompts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from core.data.errors import DataError
from core.data.readers.json_files import read_jsonl
from core.data.to_trl import prompt_messages, reference_answer

__all__ = [
    "DataError",
    "PreparedData",
    "find_demo",
    "jsonl_rows",
    "load_demo_rows",
    "own_probes",
    "prepare_training_data",
    "training_row_count",
]


@dataclass
class PreparedData:
    """Rows ready for ``SFTTrainer`` plus the held-out prompts to watch during training."""

    train_rows: list[dict]
    eval_rows: list[dict]
    probes: list[dict] = field(default_factory=list)  # {"messages": [...prompt...], "reference": str}
    description: str = ""
    demo: str | None = None
    """The built-in demo these rows are (``find_demo``), whichever way they came: its name, or a committed folder."""

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
    """A built-in demo's training and validation rows, exactly as the Data step's *Use this dataset* writes them.

    The same wizard functions read, convert and split them (core/data/wizard.py), so the shortcut (training the
    demo by name) and the guided path (committing it in the Data step) train the same rows: conversational
    prompt-completion, with the loss on the answer only, and the demo's own 100 test rows as the validation set.
    """
    from core.data.load import load_demo
    from core.data.wizard import check_dataset, draft_dataset, split_dataset
    from core.demo_data import DEMO_DATASETS

    split = split_dataset(check_dataset(draft_dataset(load_demo(name), name)), use_provided_validation=True)
    return split.train, split.validation, DEMO_DATASETS[name].title


def _asked_and_answered(row: dict) -> tuple[str, str] | None:
    """(what the user asks, the expected answer) of a row, or None when it has no user prompt.

    >>> _asked_and_answered({"prompt": [{"role": "user", "content": "2+2?"}], "completion": "4"})
    ('2+2?', '4')
    """
    prompt = row.get("prompt") if "messages" not in row else None
    if isinstance(prompt, str):
        return prompt, reference_answer(row)
    try:
        asked = [m.get("content") for m in prompt_messages(row) if isinstance(m, dict) and m.get("role") == "user"]
    except (DataError, TypeError, KeyError, AttributeError):
        return None
    return (asked[-1], reference_answer(row)) if asked and isinstance(asked[-1], str) else None


@cache
def _demo_answers(name: str) -> dict[str, str]:
    """Every row of a built-in demo (training and test) as {user prompt: expected answer}; prompts are unique."""
    train, test, _ = load_demo_rows(name)
    return dict(pair for pair in map(_asked_and_answered, train + test) if pair)


def find_demo(rows: list[dict]) -> str | None:
    """The built-in demo whose rows these all are, or None: the task follows the data, not the way it came.

    A row is a demo row when it asks one of the demo's prompts and its answer is the demo's answer or its final
    part (a word problem mapped without its reasoning column still ends with "The answer is N."). Rows of the
    demo with some left out, or split another way, are still the demo; one row of other data makes it not.

    >>> find_demo(load_demo_rows("word_problems")[1][:3]), find_demo([{"text": "hello"}]), find_demo([])
    ('word_problems', None, None)
    """
    from core.demo_data import DEMO_DATASETS

    pairs = [_asked_and_answered(row) for row in rows]
    if not pairs or None in pairs:
        return None
    for name in DEMO_DATASETS:
        answers = _demo_answers(name)
        if all(answer and answers.get(asked, "").endswith(answer) for asked, answer in pairs):
            return name
    return None


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
        return PreparedData(
            train, held_out, _probes_from(held_out, num_probes), f"Built-in demo: {title}{note}", source
        )
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
        held = set(order[: _held_out_count(len(train), eval_fraction)])
        held_out = [train[i] for i in sorted(held)]
        train = [row for i, row in enumerate(train) if i not in held]
    demo = find_demo(train + held_out)  # before tool rows may be written as text
    train, held_out, note = _for_template(train, held_out, tokenizer, model_name)
    conversational = [r for r in held_out if "messages" in r or isinstance(r.get("prompt"), list)]
    probes = _probes_from(conversational, num_probes)
    return PreparedData(train, held_out, probes, f"File: {path.name}{note}", demo)


def _held_out_count(rows: int, eval_fraction: float) -> int:
    """How many of a file's ``rows`` (with no test split of its own, 20 or more) are held out for evaluation."""
    return max(1, int(rows * eval_fraction))


def training_row_count(source: str, eval_fraction: float = 0.05) -> int:
    """How many rows a run of ``source`` trains on, as ``prepare_training_data`` splits it, without parsing a row.

    A committed folder or a file is counted by its non-blank lines (each was checked when it was written).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "rows.jsonl").write_text('{"text": "a"}\\n' * 100 + "\\n")
    >>> training_row_count(str(folder / "rows.jsonl"))  # 5 of 100 held out
    95
    """
    from core.demo_data import DEMO_DATASETS

    if source in DEMO_DATASETS:
        return len(load_demo_rows(source)[0])
    path = Path(source).expanduser()
    train_file = path / "train.jsonl" if path.is_dir() else path
    if not train_file.is_file():
        raise DataError(f"'{source}' is neither a built-in demo nor a file or folder with rows to train on.")
    rows = jsonl_rows(train_file)
    held_out_given = path.is_dir() and (path / "test.jsonl").is_file() and jsonl_rows(path / "test.jsonl") > 0
    return rows - _held_out_count(rows, eval_fraction) if not held_out_given and rows >= 20 else rows


def jsonl_rows(path: Path) -> int:
    """The non-blank lines of a JSONL file: its rows, once checked (OSError when it can't be read)."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _for_template(train: list[dict], held_out: list[dict], tokenizer, model_name: str):
    if tokenizer is None:
        return train, held_out, ""
    from core.data.tool_templates import rows_for_template

    train, note = rows_for_template(train, tokenizer, model_name or "This model")
    held_out, _ = rows_for_template(held_out, tokenizer, model_name or "This model")
    return train, held_out, f". {note}" if note else ""
