"""How a run ends other than finishing, and why it failed, in a sentence a beginner can act on.

The record of the run (``core/runs/record.py``) stores the sentence as the run's error; the exception's
traceback or the worker's log tail goes under the details.
"""

from __future__ import annotations

import signal
from pathlib import Path

from core.config import ConfigError


class StopTraining(Exception):
    """The run ends as *stopped* (``str(err)`` says why): Stop before training began, or a worker ended by force."""

    def __init__(self, message: str = "Stopped before training began.") -> None:
        super().__init__(message)


class WorkerExited(Exception):
    """The training worker ended without finishing the run; ``detail`` is its log's tail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


def is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or "out of memory" in str(err).lower()


# How a full disk shows up: OSError errno 28 from Python, its text from the Rust writer of safetensors
# ("StorageFull" / "No space left on device") and torch.save's C++ writer, which loses the errno
# ("PytorchStreamWriter failed writing file ...: file write failed").
_DISK_FULL_TEXTS = ("no space left on device", "storagefull", "disk quota exceeded", "file write failed")


def _exception_chain(err: BaseException) -> list[BaseException]:
    """The exception and the ones it was raised from or while handling (a wrapper often hides the OSError)."""
    chain: list[BaseException] = []
    while err is not None and err not in chain and len(chain) < 10:
        chain.append(err)
        err = err.__cause__ or err.__context__
    return chain


def is_disk_full(err: BaseException) -> bool:
    """True when the exception (or one it was raised from) says the disk or the user's quota is full."""
    import errno

    for link in _exception_chain(err):
        if isinstance(link, OSError) and link.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(text in str(link).lower() for text in _DISK_FULL_TEXTS):
            return True
    return False


def describe_exception(err: BaseException, run_dir: str | Path | None = None) -> str:
    """A beginner-readable sentence for an exception raised inside training (``run_dir``: the run's folder)."""
    text = str(err).strip() or type(err).__name__
    if is_out_of_memory(err):
        return (
            "Training ran out of memory. Try a smaller batch size with more gradient accumulation, "
            f"a shorter max length, or LoRA instead of a full fine-tune. ({text[:300]})"
        )
    if is_disk_full(err):
        filename = next((link.filename for link in _exception_chain(err) if getattr(link, "filename", None)), None)
        where = str(run_dir or (Path(filename).parent if filename else "the app's data folder (SFT_COACH_DATA)"))
        return (
            f"The disk is full: saving to {where} failed. Free some space on that disk (old runs' checkpoints "
            "folders are the largest files), or keep fewer checkpoints (save_total_limit, or a larger "
            "save_steps), then resume: the run continues from its last complete checkpoint. "
            f"({text[:200]})"
        )
    from core.data.errors import DataError
    from core.models.catalog import ModelUnavailableError

    if isinstance(err, ConfigError | DataError | ModelUnavailableError):
        return text[:800]  # already a sentence for a beginner: no exception class name in front
    return f"{type(err).__name__}: {text[:500]}"


def _last_error_line(tail: str) -> str:
    """The exception line of a traceback in the log ("ValueError: ..."), else "" (a log line is not a reason)."""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head and " " not in head and (head.endswith(("Error", "Exception")) or head == "KeyboardInterrupt"):
            return line
    return ""


OUT_OF_MEMORY_ADVICE = (
    "To use less memory: a smaller batch size (raise gradient accumulation to keep the effective batch), a "
    "shorter max length, LoRA instead of a full fine-tune, or a smaller model; then resume or start again."
)


def describe_worker_exit(returncode: int, tail: str) -> str:
    """Why a worker ended without finishing, in a sentence: its exception, the signal that killed it, or its code.

    >>> describe_worker_exit(-9, "* Created new run: x").startswith("the worker was killed (SIGKILL)")
    True
    >>> describe_worker_exit(1, "Traceback (most recent call last):\\n  ...\\nValueError: bad row 3")
    'ValueError: bad row 3'
    >>> describe_worker_exit(0, "")
    'the worker exited without finishing the run'
    """
    error = _last_error_line(tail)
    if error:
        return error
    # A signal shows as a negative code, or as 128 + the signal through a shell or launcher (accelerate launch).
    number = -returncode if returncode < 0 else returncode - 128 if 128 < returncode < 160 else 0
    if number:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGKILL:
            return (
                f"the worker was killed ({name}), most likely by the system because the machine ran out of memory. "
                + OUT_OF_MEMORY_ADVICE
            )
        return f"the worker was stopped by {name} (someone or something outside the app ended it)"
    if returncode == 0:
        return "the worker exited without finishing the run"
    return f"the worker exited with code {returncode} without saying why; its log is under the details below"
