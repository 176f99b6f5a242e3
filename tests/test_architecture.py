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


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:`` (imports for type hints only, never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                todo.extend(child.orelse)
            else:
                todo.append(child)


def _core_import_graph() -> dict[str, set[str]]:
    """core module -> the core modules it imports, at the top or inside a function (a lazy import still couples)."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (ROOT / "core").rglob("*.py")}  # fmt: skip
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_nodes(ast.parse(path.read_text(), filename=str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                # `from core.runs import store` names a module; `from core.runs.store import X` names its module.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target != package:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_inside_core():
    assert _cycles(_core_import_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    graph = {"core.a": {"core.b"}, "core.b": {"core.c"}, "core.c": {"core.a"}, "core.d": {"core.a"}}
    assert _cycles(graph) == [["core.a", "core.b", "core.c"]]


def test_the_run_worker_never_imports_the_manager():
    """The record lives apart from the queue, so the process that trains never loads the app's manager."""
    graph = _core_import_graph()
    reached, todo = set(), ["core.runs.worker"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert "core.runs.manager" not in reached


# Run-folder file names, as a string literal anywhere in core/ or ui/ (core/runs/store.py is their one owner).
RUN_FILE_NAMES = {
    "config.json", "state.json", "metrics.jsonl", "eval.jsonl", "samples.jsonl", "probes.json", "votes.jsonl",
    "evaluation.json", "estimate.json", "stop-requested", "worker.log", "worker.pid", "remote.json",
}  # fmt: skip
RUN_FOLDER_NAMES = {"checkpoints", "final", "share"}  # flagged where joined into a path: `folder / "final"`
# Files of a model folder (read by transformers and PEFT, not part of the run's record) that share a name.
MODEL_FOLDER_READERS = {("core/models/refs.py", "config.json"), ("core/models/catalog.py", "config.json")}


def test_only_the_run_store_names_the_files_of_a_run_folder():
    found = []
    for path in [*(ROOT / "core").rglob("*.py"), *(ROOT / "ui").rglob("*.py"), ROOT / "app.py"]:
        relative = str(path.relative_to(ROOT))
        if relative == "core/runs/store.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            named = node.value if isinstance(node, ast.Constant) and node.value in RUN_FILE_NAMES else None
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant):
                named = node.right.value if node.right.value in RUN_FOLDER_NAMES | RUN_FILE_NAMES else None
            if named and (relative, named) not in MODEL_FOLDER_READERS:
                found.append(f"{relative}:{node.lineno} {named!r}")
    assert found == [], f"read and write run files through core/runs/store.py: {found}"


def test_the_readme_architecture_names_only_what_exists():
    """The README's Architecture section (diagram and table) matches the code: its paths and methods exist."""
    import re

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    paths = set(re.findall(r"\b((?:core|ui|tests|bench|scripts|docs)/[\w/.-]*\w)", section))
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == [], f"the README names paths that do not exist: {missing}"
    sources = "\n".join(p.read_text() for p in [*(ROOT / "core").rglob("*.py"), *(ROOT / "ui").rglob("*.py")])
    methods = set(re.findall(r"\b([A-Z][a-z]\w*)\.([a-z_]\w*)\b", section))
    gone = []
    for cls, method in sorted(methods):
        body = re.search(rf"^class {cls}\b.*?(?=^class |\Z)", sources, re.S | re.M)
        if body is None or not re.search(rf"def {method}\b", body.group(0)):
            gone.append(f"{cls}.{method}")
    assert gone == [], f"the README names methods that do not exist: {gone}"
    assert len(methods) >= 8 and len(paths) >= 10  # the check really read the section


def test_no_core_module_is_over_400_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "core").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}, f"split these by concern (STYLE.md, 'A file past ~400 lines'): {long}"
