"""What the page remembers for a person between visits: checklist answers, the dataset in use, settings, step.

One folder per person, named by the hash of their owner id like their uploads (core/owners.py), holding
one small JSON file per thing remembered, so two events saving different things never overwrite each other:

    remembered/<owner hash>/checklist.json   the five answers ({question key: "yes" | "no" | "not sure"})
    remembered/<owner hash>/settings.json    the RunConfig the Data and Settings steps wrote, and the row count
    remembered/<owner hash>/step.json        the step the person was on

Each file is written atomically (as core/runs/store.py does). The owner is the one the server decided for
the request; the values are the page's input, so everything read back is checked again: answers against
the known ones, the step against the known steps, and the settings' dataset and model against the folders
this person may open now (core/file_access.py), since a file on disk may outlive its dataset or be edited.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.checklist import ANSWERS, QUESTIONS
from core.config import ConfigError, RunConfig
from core.owners import owner_folder_name, require_owner

REMEMBERED = "remembered"
CHECKLIST = "checklist.json"
SETTINGS = "settings.json"
STEP = "step.json"


@dataclass(frozen=True)
class Remembered:
    """What a person's page starts with; empty values mean "as a new page"."""

    answers: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] | None = None  # a RunConfig as a dict, checked for this person
    dataset_rows: int | None = None  # training rows of the dataset in use (None: the built-in demo)
    step: str | None = None
    notes: list[str] = field(default_factory=list)  # what could not be restored, in plain words


def remembered_folder(owner: str, data_root: Path) -> Path:
    """The folder holding one person's remembered page."""
    require_owner(owner)
    return data_root / REMEMBERED / owner_folder_name(owner)


def write_json(path: Path, payload: Any) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of its own per write: two events of one person (two tabs, a quick second click) may save
    # the same file at once, in threads of one process.
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        file.write(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or can't be read."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def clean_answers(answers: dict[str, Any]) -> dict[str, str]:
    """Only known questions with known answers.

    >>> clean_answers({"has_data": "yes", "tried_prompting": "<b>", "root": "no"})
    {'has_data': 'yes'}
    """
    keys = {q.key for q in QUESTIONS}
    return {k: v for k, v in (answers or {}).items() if k in keys and v in ANSWERS}


def remember_answers(owner: str, data_root: Path, answers: dict[str, Any]) -> None:
    write_json(remembered_folder(owner, data_root) / CHECKLIST, clean_answers(answers))


def remember_settings(owner: str, data_root: Path, config: dict[str, Any], dataset_rows: int | None) -> None:
    """Keep the settings (validated as a RunConfig: ConfigError otherwise) and the dataset's row count."""
    values = RunConfig.from_dict(config).to_dict()
    rows = dataset_rows if isinstance(dataset_rows, int) and dataset_rows >= 0 else None
    write_json(remembered_folder(owner, data_root) / SETTINGS, {"config": values, "dataset_rows": rows})


def remember_step(owner: str, data_root: Path, step: str, known_steps: Iterable[str]) -> None:
    if step in set(known_steps):
        write_json(remembered_folder(owner, data_root) / STEP, {"step": step})


def _checked_config(
    stored: dict, owner: str, data_root: Path, own_run_dirs: Iterable[Path], known_models: Iterable[str]
) -> tuple[dict | None, list[str]]:
    """The stored settings if this person may still use their dataset and model; else what was dropped and why."""
    from core.demo_data import DEMO_DATASETS
    from core.file_access import PathNotAllowed, check_dataset_choice, check_model_choice
    from core.models.catalog import default_model_id

    try:
        config = RunConfig.from_dict(stored)
    except (ConfigError, TypeError, ValueError):
        return None, ["The settings saved last time could not be read, so the page starts from the defaults."]
    own_run_dirs = list(own_run_dirs)
    notes, changes = [], {}
    defaults = RunConfig()
    try:
        dataset = check_dataset_choice(config.dataset, owner, data_root, own_run_dirs, DEMO_DATASETS)
        if dataset not in DEMO_DATASETS and not Path(dataset).exists():
            raise PathNotAllowed("gone")
    except PathNotAllowed:
        changes["dataset"] = defaults.dataset
        notes.append(
            "The dataset you used last time is no longer there (old uploads are cleaned up), so the built-in demo "
            "is in use again. Choose your data in step 2."
        )
    try:
        check_model_choice(config.model_id, owner, data_root, own_run_dirs, known_models)
    except PathNotAllowed:
        changes["model_id"] = default_model_id()
        notes.append("The model you chose last time can't be opened any more, so the default model is back.")
    return {**config.to_dict(), **changes}, notes


def recall(
    owner: str,
    data_root: Path,
    own_run_dirs: Iterable[Path] = (),
    known_models: Iterable[str] = (),
    known_steps: Iterable[str] = (),
) -> Remembered:
    """What ``owner``'s page remembers, every value checked again for them (see the module's docstring)."""
    folder = remembered_folder(owner, data_root)
    answers = read_json(folder / CHECKLIST)
    settings = read_json(folder / SETTINGS)
    step = read_json(folder / STEP)
    step = step.get("step") if isinstance(step, dict) else None
    config, rows, notes = None, None, []
    if isinstance(settings, dict) and isinstance(settings.get("config"), dict):
        config, notes = _checked_config(settings["config"], owner, data_root, own_run_dirs, known_models)
        same_data = config is not None and config["dataset"] == settings["config"].get("dataset")
        stored_rows = settings.get("dataset_rows")
        rows = stored_rows if same_data and isinstance(stored_rows, int) else None
    return Remembered(
        answers=clean_answers(answers) if isinstance(answers, dict) else {},
        config=config,
        dataset_rows=rows,
        step=step if isinstance(step, str) and step in set(known_steps) else None,
        notes=notes,
    )
