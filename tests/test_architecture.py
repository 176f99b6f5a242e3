"""The shape of the house (STYLE.md): core/ never imports gradio, app import stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_source_never_imports_gradio():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py") if "gradio" in _imported_modules(p)]
    assert offenders == [], f"core/ must not import gradio: {offenders}"


def test_importing_every_core_module_loads_no_gradio():
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "core").rglob("*.py"))
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_the_app_does_not_import_the_training_stack():
    code = "import sys, app; print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_core_hub_reads_the_offline_flag_or_a_token():
    """One door to the Hub (core/hub.py): no other module reads HF_HUB_OFFLINE, HF_TOKEN or the saved login."""
    readers = []
    for path in [*(ROOT / "core").rglob("*.py"), *(ROOT / "ui").rglob("*.py"), ROOT / "app.py"]:
        if path == ROOT / "core" / "hub.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            called = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
            name = (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) if called else ""
            reads_env = name in ("get", "getenv") and any(
                isinstance(a, ast.Constant) and a.value in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_TOKEN")
                for a in node.args
            )
            if reads_env or name in ("get_token", "is_offline_mode"):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == [], f"read the Hub's offline flag and token through core/hub.py: {readers}"
