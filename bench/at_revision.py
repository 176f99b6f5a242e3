"""One file of the app as it was at a git revision, imported as a module of its own, for side-by-side benchmarks.

Only for files whose imports are the standard library and installed packages (``core/charts.py``, ``core/chat.py``):
their own imports of the app would bring in this tree's modules, not the revision's.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_at(revision: str, path: str):
    """``path`` (e.g. ``core/chat.py``) as it was at ``revision``, read with ``git show`` and imported."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:{path}"], check=True, capture_output=True, text=True
    ).stdout
    name = f"{Path(path).stem}_at_{revision}".replace("-", "_")
    file = Path(tempfile.mkdtemp(prefix="sft-coach-bench-")) / f"{name}.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module
