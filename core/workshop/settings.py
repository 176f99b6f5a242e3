"""The instructor's workshop settings, kept on the server so they survive a restart.

Set from the admin tab and stored in ``<data folder>/workshop/settings.json``. Until the instructor saves
them, the environment variables give the defaults (what a Space's owner could set before there was a page):

- ``SFT_COACH_WORKSHOP=1``: workshop mode on (runs take turns by person; budgets apply);
- ``SFT_COACH_GPU_BUDGET_MINUTES``: each participant's training time, in minutes;
- ``SFT_COACH_MAX_STEPS`` and ``SFT_COACH_MAX_RUN_MINUTES``: the longest run, in steps and in minutes.

0 means "no limit" everywhere. The maximum run length applies whether or not workshop mode is on (as
``SFT_COACH_MAX_STEPS`` always did); the turn-taking and the budgets only in workshop mode.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from core.config import ConfigError


@dataclass(frozen=True)
class WorkshopSettings:
    """What the instructor decides for the room; every field says what it is for (the admin tab reads it)."""

    enabled: bool = field(
        default=False,
        metadata={
            "label": "Workshop mode",
            "help": "Runs take turns by person (one run each in turn, not first come first served) and each "
            "participant's training time is counted against their budget.",
            "env": "SFT_COACH_WORKSHOP",
        },
    )
    budget_minutes: float = field(
        default=0.0,
        metadata={
            "label": "Training time per participant (minutes)",
            "help": "How long each person's runs may train in all (from their first step to their end). 0: no budget.",
            "env": "SFT_COACH_GPU_BUDGET_MINUTES",
        },
    )
    max_steps: int = field(
        default=0,
        metadata={
            "label": "Longest run (steps)",
            "help": "A run asking for more steps trains this many, and its owner is told. 0: no limit.",
            "env": "SFT_COACH_MAX_STEPS",
        },
    )
    max_minutes: float = field(
        default=0.0,
        metadata={
            "label": "Longest run (minutes)",
            "help": "A run still training after this long stops at its next step and keeps what it trained. "
            "0: no limit.",
            "env": "SFT_COACH_MAX_RUN_MINUTES",
        },
    )

    @classmethod
    def from_env(cls) -> WorkshopSettings:
        """The defaults from the environment; a variable that is not a number is ignored (0, no limit)."""
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = os.environ.get(spec.metadata["env"], "").strip()
            if spec.name == "enabled":
                values[spec.name] = raw.lower() in ("1", "true", "yes", "on")
                continue
            try:
                values[spec.name] = float(raw) if raw else 0.0
            except ValueError:
                values[spec.name] = 0.0
        try:
            return cls.from_dict(values)
        except ConfigError:
            return cls()

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> WorkshopSettings:
        """Checked settings from the page's (or the file's) values; ConfigError names the field and the fix.

        >>> WorkshopSettings.from_dict({"enabled": True, "budget_minutes": 20, "max_steps": 100.0}).max_steps
        100
        >>> WorkshopSettings.from_dict({"max_steps": -5})
        Traceback (most recent call last):
        ...
        core.config.ConfigError: Setting 'Longest run (steps)' = -5 can't be negative. Use 0 for no limit.
        """
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"Unknown workshop setting(s): {', '.join(sorted(unknown))}.")
        checked: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name not in values:
                continue
            value, label = values[spec.name], spec.metadata["label"]
            if spec.name == "enabled":
                if not isinstance(value, bool):
                    raise ConfigError(f"Setting '{label}' must be on or off, not {value!r}.")
                checked[spec.name] = value
                continue
            number = _number(value, label)
            if number < 0:
                raise ConfigError(f"Setting '{label}' = {value:g} can't be negative. Use 0 for no limit.")
            if spec.name == "max_steps":
                if number != int(number):
                    raise ConfigError(f"Setting '{label}' = {value:g} must be a whole number of steps.")
                number = int(number)
            checked[spec.name] = number
        return replace(cls(), **checked)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def label(name: str) -> str:
        return next(f.metadata["label"] for f in fields(WorkshopSettings) if f.name == name)

    @staticmethod
    def help(name: str) -> str:
        return next(f.metadata["help"] for f in fields(WorkshopSettings) if f.name == name)


def _number(value: Any, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"Setting '{label}' must be a number (0 for no limit), not {value!r}.")
    return float(value)


class WorkshopSettingsStore:
    """The settings file, written atomically; read again only when it changed (the queue asks on every poll)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int] | None, WorkshopSettings] | None = None

    @classmethod
    def in_data_dir(cls) -> WorkshopSettingsStore:
        from core.paths import data_dir

        return cls(data_dir() / "workshop" / "settings.json")

    def load(self) -> WorkshopSettings:
        """The saved settings; the environment's defaults until some are saved (or when the file is unreadable)."""
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        cached = self._cached
        if cached is not None and cached[0] == stamp and stamp is not None:
            return cached[1]
        try:
            saved = json.loads(self.path.read_text())
            settings = WorkshopSettings.from_dict(saved) if isinstance(saved, dict) else WorkshopSettings.from_env()
        except (OSError, ValueError):  # no file yet, cut short, or edited by hand into something else
            settings = WorkshopSettings.from_env()
        self._cached = (stamp, settings)
        return settings

    def save(self, settings: WorkshopSettings) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(settings.to_dict(), indent=2))
            tmp.replace(self.path)


@dataclass(frozen=True)
class Limits:
    """Optional limits for a shared Space, set by environment variables; 0 means no limit.

    The longest run and the training-time budgets are the instructor's workshop settings (set on the admin
    page, ``SFT_COACH_MAX_STEPS`` and the others as their defaults: core/workshop/settings.py).
    """

    max_queued_per_owner: int = 0  # SFT_COACH_MAX_QUEUED
    max_dataset_rows: int = 0  # SFT_COACH_MAX_ROWS

    @classmethod
    def from_env(cls) -> Limits:
        def number(name: str) -> int:
            value = os.environ.get(name, "").strip()
            return int(value) if value.isdigit() else 0

        return cls(number("SFT_COACH_MAX_QUEUED"), number("SFT_COACH_MAX_ROWS"))

    def describe(self) -> str:
        parts = []
        if self.max_queued_per_owner:
            parts.append(f"at most {self.max_queued_per_owner} waiting run(s) per person")
        if self.max_dataset_rows:
            parts.append(f"at most {self.max_dataset_rows:,} training rows")
        return "This Space allows " + ", ".join(parts) + "." if parts else ""
