"""What an instructor gives the whole class: a dataset, a preset (some fields locked or not) and a probe set.

Stored on the server under the data folder, so they survive a restart, in one small JSON file each:

    workshop/shared/dataset.json     the published dataset: a demo's name or a copy of a converted folder
    workshop/shared/datasets/<name>/ that copy (train.jsonl + test.jsonl), written by ``write_training_folder``
    workshop/shared/preset.json      the Settings values (no dataset), which of them are locked, a name
    workshop/shared/probe-set.json   the prompts (messages + reference answer) and a version id

Everyone reads them; only an instructor changes them, and "instructor" is an ``InstructorPass``, made only by
``instructor_pass`` from what the server decided (the person asking, and who unlocked the admin view on the
server), never from a value a page sends. A participant who starts from the shared dataset gets a copy in their
own datasets folder (core/file_access.py), so the rule for what a run may train on stays the one rule.
Locked fields are enforced where a run starts (``check_locks``), whatever the page sent.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import ConfigError, RunConfig, field_label
from core.file_access import owner_datasets
from core.owners import HF_PREFIX, oauth_enabled, require_owner
from core.probe_sets import MAX_PROMPTS, ProbePrompt
from core.remembered import read_json, write_json

WORKSHOP = "workshop"
SHARED = "shared"
DATASET_FILE = "dataset.json"
PRESET_FILE = "preset.json"
PROBES_FILE = "probe-set.json"
# Not part of a shared preset: the dataset is shared on its own, the probe prompts are the person's.
NOT_IN_PRESET = ("dataset", "probe_prompts", "extra")


class NotInstructor(PermissionError):
    """Someone who is not the instructor tried to change what the class shares."""


class InstructorPass:
    """Proof, made on the server, that the person asking is the instructor (see ``instructor_pass``)."""

    def __init__(self, owner: str) -> None:
        self.owner = require_owner(owner)

    def __repr__(self) -> str:
        return "InstructorPass(…)"


def space_owner() -> str | None:
    """The owner id of the Space's author on a Space with Hugging Face login (``SPACE_AUTHOR_NAME``), else None."""
    author = os.environ.get("SPACE_AUTHOR_NAME", "").strip()
    return HF_PREFIX + author if author and oauth_enabled() else None


def instructor_pass(owner: str, admin_unlocked_by: str | None = None) -> InstructorPass | None:
    """A pass when ``owner`` unlocked the admin view (``admin_unlocked_by``, kept on the server) or owns the Space."""
    if not owner:
        return None
    if (admin_unlocked_by and admin_unlocked_by == owner) or owner == space_owner():
        return InstructorPass(owner)
    return None


def _require(instructor: object) -> None:
    if not isinstance(instructor, InstructorPass):
        raise NotInstructor("Only the instructor can change what the class shares: open the admin view first.")


@dataclass(frozen=True)
class SharedDataset:
    """The class's dataset: ``dataset`` is a demo's name or the shared folder; rows, max length, packing."""

    name: str
    dataset: str
    train_rows: int | None
    validation_rows: int | None
    max_length: int
    packing: bool
    published_at: float


@dataclass(frozen=True)
class SharedPreset:
    """The class's settings (a RunConfig without dataset) and the fields participants can't change."""

    name: str
    values: dict[str, Any]
    locked: tuple[str, ...]
    published_at: float


@dataclass(frozen=True)
class SharedProbeSet:
    prompts: tuple[ProbePrompt, ...]
    version: str  # a new one each time the set is published: answers to an older set are asked again
    published_at: float


class ClassBoard:
    """The shared starting points of one app's class, on disk under ``data_root/workshop/shared``."""

    def __init__(self, data_root: str | Path) -> None:
        self.folder = Path(data_root) / WORKSHOP / SHARED

    # -- reading: everyone ---------------------------------------------------------------------------------
    def dataset(self) -> SharedDataset | None:
        stored = read_json(self.folder / DATASET_FILE)
        try:
            return SharedDataset(**stored) if isinstance(stored, dict) else None
        except TypeError:
            return None

    def preset(self) -> SharedPreset | None:
        stored = read_json(self.folder / PRESET_FILE)
        if not isinstance(stored, dict) or not isinstance(stored.get("values"), dict):
            return None
        locked = tuple(name for name in stored.get("locked", ()) if name in stored["values"])
        return SharedPreset(str(stored.get("name", "")), stored["values"], locked, float(stored.get("at", 0)))

    def probe_set(self) -> SharedProbeSet | None:
        stored = read_json(self.folder / PROBES_FILE)
        if not isinstance(stored, dict) or not isinstance(stored.get("prompts"), list):
            return None
        prompts = []
        for item in stored["prompts"]:
            try:
                prompts.append(ProbePrompt.from_messages(item["messages"], item.get("reference")))
            except (KeyError, TypeError):
                continue
        return SharedProbeSet(tuple(prompts), str(stored.get("version", "")), float(stored.get("at", 0)))

    # -- publishing: the instructor only ---------------------------------------------------------------------
    def publish_dataset(self, instructor: InstructorPass, config: dict[str, Any], name: str = "") -> SharedDataset:
        """Share the dataset of ``config`` (the instructor's settings after *Use this dataset*, or a demo).

        A converted folder is copied, so later clean-ups of the instructor's own folders never take it away.
        """
        _require(instructor)
        from core.data.export import write_training_folder
        from core.demo_data import DEMO_DATASETS

        settings = RunConfig.from_dict(config)
        source = settings.dataset
        if source in DEMO_DATASETS:
            shared, train, validation = source, None, None
        else:
            folder = Path(source)
            if not (folder / "train.jsonl").is_file():
                raise ConfigError(
                    "Only a dataset converted in 2 · Data can be shared: press 'Use this dataset' there first."
                )
            target = self.folder / "datasets" / f"{folder.name}-{secrets.token_hex(3)}"
            train_rows = _read_rows(folder / "train.jsonl")
            validation_rows = _read_rows(folder / "test.jsonl") if (folder / "test.jsonl").exists() else []
            write_training_folder(train_rows, validation_rows, target)
            shared, train, validation = str(target), len(train_rows), len(validation_rows)
        from core.runs.names import dataset_short_name

        published = SharedDataset(
            name=(name or "").strip()[:80] or dataset_short_name(source),
            dataset=shared,
            train_rows=train,
            validation_rows=validation,
            max_length=settings.max_length,
            packing=settings.packing,
            published_at=time.time(),
        )
        write_json(self.folder / DATASET_FILE, published.__dict__)
        return published

    def publish_preset(
        self, instructor: InstructorPass, config: dict[str, Any], locked: Iterable[str] = (), name: str = ""
    ) -> SharedPreset:
        """Share the Settings values of ``config`` (validated as a RunConfig); ``locked`` names fields to fix."""
        _require(instructor)
        values = {k: v for k, v in RunConfig.from_dict(config).to_dict().items() if k not in NOT_IN_PRESET}
        locked = tuple(dict.fromkeys(locked or ()))
        unknown = [field for field in locked if field not in values]
        if unknown:
            raise ConfigError(f"Can't lock {', '.join(unknown)}: a preset locks only its own settings.")
        preset = SharedPreset((name or "").strip()[:80] or "Class preset", values, locked, time.time())
        write_json(
            self.folder / PRESET_FILE,
            {"name": preset.name, "values": values, "locked": list(locked), "at": preset.published_at},
        )
        return preset

    def publish_probe_set(self, instructor: InstructorPass, prompts: Iterable[ProbePrompt]) -> SharedProbeSet:
        """Share a probe set: every submitted model answers these prompts, and the arena compares the answers."""
        _require(instructor)
        prompts = tuple(prompts)
        if not prompts:
            raise ValueError("A probe set needs at least one prompt.")
        if len(prompts) > MAX_PROMPTS:
            raise ValueError(f"A probe set takes at most {MAX_PROMPTS} prompts (got {len(prompts)}).")
        version = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        stored = [{"messages": p.as_messages(), "reference": p.reference} for p in prompts]
        write_json(self.folder / PROBES_FILE, {"prompts": stored, "version": version, "at": time.time()})
        return SharedProbeSet(prompts, version, time.time())

    def withdraw(self, instructor: InstructorPass, what: str) -> None:
        """Stop sharing the ``"dataset"``, ``"preset"`` or ``"probes"``."""
        _require(instructor)
        files = {"dataset": DATASET_FILE, "preset": PRESET_FILE, "probes": PROBES_FILE}
        if what not in files:
            raise ValueError(f"Nothing called {what!r} is shared; choose one of {', '.join(files)}.")
        (self.folder / files[what]).unlink(missing_ok=True)

    # -- using them: each participant for themselves ---------------------------------------------------------
    def copy_dataset_for(self, owner: str, data_root: str | Path) -> tuple[dict[str, Any], int | None]:
        """The settings changes (dataset, max length, packing) and row count to start from the shared dataset.

        A shared folder is copied into ``owner``'s own datasets folder: their runs train on their own copy.
        """
        require_owner(owner)
        shared = self.dataset()
        if shared is None:
            raise ConfigError("Your instructor has not shared a dataset (or has withdrawn it).")
        dataset = shared.dataset
        if Path(dataset).is_dir():
            from core.data.wizard import new_dataset_folder

            target = new_dataset_folder(owner_datasets(owner, Path(data_root)), shared.name)
            shutil.copytree(dataset, target)
            dataset = str(target)
        changes = {"dataset": dataset, "max_length": shared.max_length, "packing": shared.packing}
        return changes, shared.train_rows

    def start_from_preset(self, current: dict[str, Any] | None) -> dict[str, Any]:
        """``current`` settings with the shared preset's values (the dataset in use stays)."""
        preset = self.preset()
        if preset is None:
            raise ConfigError("Your instructor has not shared a preset (or has withdrawn it).")
        return RunConfig.from_dict({**(current or {}), **preset.values}).to_dict()

    def lock_problems(self, config: RunConfig) -> list[str]:
        """One sentence per locked field that ``config`` changes (empty when none is locked or all match)."""
        preset = self.preset()
        if preset is None:
            return []
        problems = []
        for name in preset.locked:
            fixed, given = preset.values[name], getattr(config, name, None)
            if given != fixed:
                problems.append(f"{field_label(name)} is locked by your instructor at {fixed} (yours: {given})")
        return problems

    def check_locks(self, config: RunConfig) -> None:
        """ConfigError when ``config`` changes a field the instructor locked: checked at Start, on the server."""
        problems = self.lock_problems(config)
        if problems:
            raise ConfigError(
                "; ".join(problems) + ". Press 'Start from your instructor's preset' in 3 · Settings, then Start."
            )


def _read_rows(path: Path) -> list[dict]:
    import json

    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
