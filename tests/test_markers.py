"""The quick run (``pytest -m unit``) never launches the app: the markers tests/conftest.py gives hold up.

The conftest marks tests by the fixtures they use; these tests check the result another way, by reading the test
modules, so an app test that reaches the app some new way fails here rather than slowing the quick run down.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ROOT, app_server

# Helpers that only make sense against a launched app, and the fixtures that hand one out.
APP_HELPERS = {"tests.app_server", "tests.page_client", "tests.browser"}
APP_FIXTURES = {"launch_app", "server"}


def _reaches_the_app(path: Path) -> bool:
    """Whether a test module imports an app helper, or has a test or fixture that takes a launched app."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module in APP_HELPERS:
            return True
        if isinstance(node, ast.FunctionDef) and APP_FIXTURES & {arg.arg for arg in node.args.args}:
            return True
    return False


def test_no_test_in_a_module_that_reaches_the_app_is_outside_the_app_or_browser_tests():
    modules = [p for p in sorted((ROOT / "tests").glob("test_*.py")) if p.name != Path(__file__).name]
    launching = [str(p.relative_to(ROOT)) for p in modules if _reaches_the_app(p)]
    assert "tests/test_app.py" in launching and "tests/test_browser.py" in launching  # the reading works
    collect = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    out = subprocess.run(
        [*collect, "-m", "not app and not browser", *launching], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode in (0, 5), out.stdout[-3000:] + out.stderr[-3000:]  # 5: every test deselected
    unmarked = [line for line in out.stdout.splitlines() if "::" in line]
    assert unmarked == [], (
        f"these tests reach the launched app but are not marked app or browser, so `-m unit` would run them: "
        f"{unmarked}. Take the app from the launch_app fixture (or one built on it, like server)."
    )


def test_a_unit_test_that_starts_the_app_fails_at_once(request, tmp_path):
    assert request.node.get_closest_marker("unit")
    with pytest.raises(RuntimeError, match="is marked unit but starts the app"):
        app_server.AppServer(tmp_path / "data", tmp_path / "server.log")
