"""``python app.py``: the cyclic garbage collector is off while the page is built, then on, with the page frozen."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent

# app.py run as `python app.py` does, with Gradio's launch replaced by a report of the collector's state.
LAUNCH = """
import gc, runpy, sys
import gradio as gr
seen = {}
enter = gr.Blocks.__enter__
def building(self):
    seen.setdefault("while building", gc.isenabled())
    return enter(self)
gr.Blocks.__enter__ = building
gr.Blocks.queue = lambda self, **kwargs: self
gr.Blocks.launch = lambda self, **kwargs: print(seen["while building"], gc.isenabled(), gc.get_freeze_count())
sys.argv = ["app.py", "--no-warm-up"]
runpy.run_path("app.py", run_name="__main__")
"""


def test_the_collector_is_off_while_the_page_is_built_and_on_once_it_is_served(tmp_path):
    env = {**os.environ, "SFT_COACH_DATA": str(tmp_path), "SFT_COACH_WARM_WORKER": "0", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", LAUNCH], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    building, serving, frozen = out.stdout.strip().splitlines()[-1].split()
    assert (building, serving) == ("False", "True")
    assert int(frozen) > 100_000  # the imports and the page: later collections don't walk them


def test_importing_the_app_leaves_the_collector_alone():
    """Tests and other programs import app.py: only `python app.py` turns the collector off (and on again)."""
    import app  # noqa: F401

    assert gc.isenabled()
