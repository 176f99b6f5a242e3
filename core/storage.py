"""Files people leave on the server: per-person upload folders, and the clean-up that keeps the disk from filling.

Uploads are copied out of Gradio's temporary folder into ``<data>/uploads/<folder>/<safe name>``, where
``<folder>`` is a hash of the owner id (the owner id is the key to someone's runs, so it never appears in a
path) or a random id when there is no owner yet. Nothing the user typed becomes a path: the file name is
reduced to a plain basename.

``clean_up`` removes upload folders older than ``SFT_COACH_UPLOAD_MAX_AGE_HOURS`` (24), then the oldest
ones while all uploads together exceed ``SFT_COACH_UPLOAD_QUOTA_MB`` (2000), and, when
``SFT_COACH_RUN_MAX_AGE_DAYS`` is set above 0, ended runs older than that. A folder in use (the uploader's
own, or one holding an active run's dataset) and an active run are never removed. When an upload folder
goes, a note is left so its owner hears about it on their next visit (``take_removal_notice``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.data.errors import DataError
from core.data.load import check_file_size
from core.owners import EVERYONE, owner_folder_name
from core.paths import data_dir
from core.runs.manager import RunManager
from core.runs.record import ACTIVE_PHASES

UPLOADS = "uploads"
NOTICES = ".removed"  # inside the uploads folder; a dot-name, so it is never taken for someone's upload folder
ENDED_PHASES = ("finished", "failed", "stopped", "cancelled")  # runs that may be removed for age
SESSION_PREFIX = "s"  # folders for uploads made before the page knew its owner; owner folders are hex hashes
NOTICE_MAX_AGE_DAYS = 30  # a removal note nobody came back for is dropped after this
CLEANUP_EVERY_SECONDS = 3600


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return max(float(raw), 0.0) if raw else default
    except ValueError:
        print(f"Ignoring {name}={raw!r}: not a number; using {default}.")
        return default


@dataclass(frozen=True)
class CleanupPolicy:
    """How long files are kept; set by environment variables. 0 turns a limit off."""

    upload_max_age_hours: float = 24.0  # SFT_COACH_UPLOAD_MAX_AGE_HOURS: a workshop day, then the file goes
    upload_quota_mb: float = 2000.0  # SFT_COACH_UPLOAD_QUOTA_MB: ten uploads at the 200 MB limit
    run_max_age_days: float = 0.0  # SFT_COACH_RUN_MAX_AGE_DAYS: 0 keeps ended runs forever (the default)

    @classmethod
    def from_env(cls) -> CleanupPolicy:
        return cls(
            _env_number("SFT_COACH_UPLOAD_MAX_AGE_HOURS", cls.upload_max_age_hours),
            _env_number("SFT_COACH_UPLOAD_QUOTA_MB", cls.upload_quota_mb),
            _env_number("SFT_COACH_RUN_MAX_AGE_DAYS", cls.run_max_age_days),
        )


@dataclass
class CleanupReport:
    """What one clean-up removed: one readable line per folder, for the server log."""

    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0

    def describe(self) -> str:
        if not self.removed:
            return "Clean-up: nothing to remove."
        lines = [f"Clean-up freed {self.freed_bytes / 2**20:,.1f} MB:", *(f"  - {line}" for line in self.removed)]
        return "\n".join(lines)


# -- uploads ----------------------------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """A plain file name from whatever the browser sent: no folders, no leading dots, no odd characters.

    >>> safe_filename("../../etc/passwd")
    'passwd'
    >>> safe_filename("C:\\\\Users\\\\me\\\\.bashrc")
    'bashrc'
    >>> safe_filename("my chats (v2).jsonl")
    'my_chats_v2_.jsonl'
    >>> safe_filename("..")
    'upload'
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._-")
    stem, dot, suffix = base.rpartition(".")
    if dot and len(base) > 120:
        base = stem[: 119 - len(suffix)] + "." + suffix[:16]
    return base[:120] or "upload"


def uploads_root(root: Path | None = None) -> Path:
    return (root or data_dir()) / UPLOADS


def save_upload(temp_path: str | Path, owner: str | None, name: str | None = None, root: Path | None = None) -> Path:
    """Copy an uploaded file into its owner's upload folder under a safe name; return the copy's path.

    Raises DataError when the file is missing or larger than the upload limit (``max_upload_mb``).
    """
    source = Path(temp_path)
    clean = safe_filename(name or source.name)
    if not source.is_file():
        raise DataError(f"The upload of {clean} did not arrive (no file on the server). Upload it again.")
    check_file_size(source, clean)
    folder = uploads_root(root) / (owner_folder_name(owner) if owner else SESSION_PREFIX + secrets.token_hex(12))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / clean
    if target.resolve().parent != folder.resolve():  # belt and braces: safe_filename already removed separators
        raise DataError(f"The file name {name!r} can't be used. Rename the file and upload it again.")
    shutil.copyfile(source, target)
    os.utime(folder)  # the folder's age is its last use
    return target


def take_removal_notice(owner: str | None, root: Path | None = None) -> str | None:
    """The message for an owner whose uploads were removed since their last visit (told once), else None."""
    if not owner:
        return None
    note = uploads_root(root) / NOTICES / f"{owner_folder_name(owner)}.json"
    try:
        details = json.loads(note.read_text())
        note.unlink()
    except (OSError, ValueError):
        return None
    files = ", ".join(details.get("files", [])) or "your uploaded file"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(details.get("removed_at", time.time())))
    return (
        f"{files} was removed from the server on {when} ({details.get('reason', 'to free disk space')}). "
        "A dataset you already chose with 'Use this dataset' is not affected; to load the file again, upload it again."
    )


# -- sizes and ages ---------------------------------------------------------------------------------------


def folder_size(folder: Path) -> int:
    """Bytes used by the files in a folder (and its sub-folders)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            pass  # removed meanwhile
    return total


def _last_used(folder: Path) -> float:
    return max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())])


def disk_usage(root: Path | None = None) -> dict[str, int]:
    """Bytes used by uploads and by runs, for the admin view."""
    root = root or data_dir()
    return {name: folder_size(root / name) if (root / name).is_dir() else 0 for name in (UPLOADS, "runs")}


# -- clean-up ---------------------------------------------------------------------------------------------


def _folders_in_use(uploads: Path, manager: RunManager | None, keep_owners: Iterable[str | None]) -> set[Path]:
    """Upload folders that must stay: the given owners', and any holding an active run's dataset."""
    keep = {uploads / owner_folder_name(owner) for owner in keep_owners if owner}
    for job in manager.runs(owner=EVERYONE) if manager else []:
        if job.phase in ACTIVE_PHASES:
            dataset = Path(str(job.config.dataset)).expanduser().resolve()
            keep.update(parent for parent in dataset.parents if parent.parent == uploads)
    return keep


def _remove_upload(folder: Path, reason: str, report: CleanupReport) -> None:
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    size = folder_size(folder)
    shutil.rmtree(folder, ignore_errors=True)
    if not folder.name.startswith(SESSION_PREFIX):  # a one-off session folder has nobody to tell
        notes = folder.parent / NOTICES
        notes.mkdir(exist_ok=True)
        note = {"files": files, "reason": reason, "removed_at": time.time()}
        (notes / f"{folder.name}.json").write_text(json.dumps(note))
    report.removed.append(f"upload folder {folder.name[:8]}… ({len(files)} file(s), {size / 2**20:,.1f} MB): {reason}")
    report.freed_bytes += size


def clean_up_uploads(
    policy: CleanupPolicy,
    manager: RunManager | None = None,
    keep_owners: Iterable[str | None] = (),
    root: Path | None = None,
    now: float | None = None,
) -> CleanupReport:
    """Remove upload folders past the age limit, then the oldest while all uploads exceed the quota."""
    report, now = CleanupReport(), now or time.time()
    uploads = uploads_root(root)
    if not uploads.is_dir():
        return report
    keep = _folders_in_use(uploads, manager, keep_owners)
    folders = sorted(
        ((_last_used(f), f) for f in uploads.iterdir() if f.is_dir() and not f.name.startswith(".")),
        key=lambda pair: pair[0],
    )
    max_age = policy.upload_max_age_hours * 3600
    kept = []
    for used, folder in folders:
        if max_age and now - used > max_age and folder not in keep:
            hours = policy.upload_max_age_hours
            reason = f"uploads are kept for {hours:g} hour{'' if hours == 1 else 's'} after their last use"
            _remove_upload(folder, reason, report)
        else:
            kept.append(folder)
    for note in (uploads / NOTICES).glob("*.json"):
        if now - note.stat().st_mtime > NOTICE_MAX_AGE_DAYS * 86400:
            note.unlink(missing_ok=True)
    total = sum(folder_size(f) for f in kept)
    quota = policy.upload_quota_mb * 2**20
    for folder in kept:  # oldest first
        if not quota or total <= quota:
            break
        if folder not in keep:
            size = folder_size(folder)
            _remove_upload(folder, f"all uploads together passed this server's {policy.upload_quota_mb:g} MB", report)
            total -= size
    return report


def clean_up_runs(policy: CleanupPolicy, manager: RunManager, now: float | None = None) -> CleanupReport:
    """Remove the folders of runs that ended more than ``run_max_age_days`` ago (never an active run)."""
    report, now = CleanupReport(), now or time.time()
    if not policy.run_max_age_days:
        return report
    max_age = policy.run_max_age_days * 86400
    for job in manager.runs(owner=EVERYONE):
        ended = job.finished_at or job.created_at
        if job.phase not in ENDED_PHASES or now - ended <= max_age:
            continue
        forgotten = manager.forget(job.run_id)  # under the manager's lock: refuses a run resumed meanwhile
        if forgotten is None:
            continue
        size = folder_size(forgotten.run_dir)
        shutil.rmtree(forgotten.run_dir, ignore_errors=True)
        days = f"{policy.run_max_age_days:g}"
        report.removed.append(f"run {job.run_id} ({job.phase}, {size / 2**20:,.1f} MB): ended over {days} days ago")
        report.freed_bytes += size
    return report


def clean_up(
    manager: RunManager | None,
    keep_owners: Iterable[str | None] = (),
    policy: CleanupPolicy | None = None,
    root: Path | None = None,
    now: float | None = None,
) -> CleanupReport:
    """One clean-up pass over uploads and (when enabled) old runs; prints what it removed to the server log.

    A disk error ends the pass with a line in the log instead of an exception: an upload or the app's start
    must never fail because old files could not be removed.
    """
    policy = policy or CleanupPolicy.from_env()
    report = CleanupReport()
    with _cleanup_lock:  # the hourly thread and an upload may both start one
        try:
            report = clean_up_uploads(policy, manager, keep_owners, root, now)
            if manager is not None:
                runs = clean_up_runs(policy, manager, now)
                report.removed += runs.removed
                report.freed_bytes += runs.freed_bytes
        except OSError as err:
            print(f"Clean-up of {uploads_root(root).parent} stopped early: {err}. It runs again within the hour.")
    if report.removed:
        print(report.describe(), flush=True)
    return report


_cleanup_lock = threading.Lock()
_started_roots: set[Path] = set()
_started_lock = threading.Lock()


def start_cleanup_thread(manager: RunManager, root: Path | None = None) -> bool:
    """Clean up now and then every hour, in a daemon thread; once per data folder. False when already running.

    The data folder is fixed here, at start: a thread never follows a later change of ``SFT_COACH_DATA``.
    """
    root = (root or data_dir()).resolve()
    with _started_lock:
        if root in _started_roots:
            return False
        _started_roots.add(root)

    def loop() -> None:
        while True:
            clean_up(manager, root=root)
            time.sleep(CLEANUP_EVERY_SECONDS)

    threading.Thread(target=loop, name="sft-cleanup", daemon=True).start()
    return True
