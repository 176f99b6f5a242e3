"""The waiting line on disk: a restart keeps every queued run, its place and what the instructor chose.

A run's own folder says *that* it waits (``state.json``: phase ``queued``); what only the manager knew lives
here, in ``line.json`` beside the run folders: the order the runs came in, the runs the instructor pushed back,
each run's capped time estimate and the notice its owner was given, the time a resumed run had trained, when
each run left the line (for turns by person and for how long runs really take), each run's time limit and
the runs that limit stopped. The file is rewritten whole (atomically) at every change of the line; a missing
or damaged file gives an empty record, and the queued runs then wait in the order they came.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.remembered import read_json, write_json

LINE_FILE = "line.json"


@dataclass
class LineRecord:
    """What the run manager keeps about its line between restarts (run id -> value, per field)."""

    queue: list[str] = field(default_factory=list)  # waiting runs, in the order they came
    pushed_back: dict[str, int] = field(default_factory=dict)  # when the instructor deprioritised a run (a counter)
    estimates: dict[str, float | None] = field(default_factory=dict)  # seconds a run should take, after the caps
    notices: dict[str, str] = field(default_factory=dict)  # what the owner was told at Start (steps capped)
    trained_before: dict[str, float] = field(default_factory=dict)  # seconds trained before a resume
    left_line: dict[str, float] = field(default_factory=dict)  # when a run last left the line
    limits: dict[str, float] = field(default_factory=dict)  # the longest a run was allowed to train, in seconds
    limited: list[str] = field(default_factory=list)  # runs their time limit stopped

    def save(self, runs_dir: Path) -> None:
        """Write ``line.json`` atomically: a crash leaves the old line or the new one."""
        write_json(runs_dir / LINE_FILE, asdict(self))

    @classmethod
    def load(cls, runs_dir: Path, known: set[str]) -> LineRecord:
        """The record in ``runs_dir``, keeping only entries of ``known`` runs; empty when missing or damaged.

        >>> import tempfile; folder = Path(tempfile.mkdtemp())
        >>> LineRecord(queue=["a", "gone"], pushed_back={"a": 1}, limited=["b"]).save(folder)
        >>> LineRecord.load(folder, known={"a", "b"})
        LineRecord(queue=['a'], pushed_back={'a': 1}, estimates={}, notices={}, trained_before={}, \
left_line={}, limits={}, limited=['b'])
        >>> _ = (folder / LINE_FILE).write_text("{not json"); LineRecord.load(folder, known={"a"})
        LineRecord(queue=[], pushed_back={}, estimates={}, notices={}, trained_before={}, left_line={}, \
limits={}, limited=[])
        """
        saved = read_json(runs_dir / LINE_FILE)
        if not isinstance(saved, dict):
            return cls()
        record = cls()
        for item in fields(cls):
            value = saved.get(item.name)
            if isinstance(value, list):
                setattr(record, item.name, [v for v in value if isinstance(v, str) and v in known])
            elif isinstance(value, dict):
                setattr(record, item.name, {k: v for k, v in value.items() if k in known and _plain(v)})
        return record


def _plain(value: object) -> bool:
    """A value the record holds: a number, a string or None (never a nested object from a hand-edited file)."""
    return value is None or isinstance(value, int | float | str) and not isinstance(value, bool)
