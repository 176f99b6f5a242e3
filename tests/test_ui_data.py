"""The Data step's guard: of overlapping checks in one browser session, only the newest shows its result; and the
page-load check of the built-in demo, done once for every page."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from core.config import RunConfig
from ui.data import LatestOnly


def test_an_older_check_that_ends_last_is_dropped_and_sessions_are_independent():
    guard = LatestOnly()
    page_load = guard.begin("ann")
    upload = guard.begin("ann")
    other = guard.begin("bob")
    assert guard.is_newest("ann", upload) and guard.is_newest("bob", other)
    guard.end("ann", upload)  # the upload's check finished first and showed its result
    assert not guard.is_newest("ann", page_load)  # the slower page-load check must not overwrite it
    guard.end("ann", page_load)
    assert guard.is_newest("bob", other)
    guard.end("bob", other)
    assert guard._newest == {}  # nothing kept once a session's checks are done


def _page_load_check():
    """The Data step's tokenizer check, as the page calls it, and the folder of the checks' download files."""
    from core.models import TINY_MODEL_ID
    from ui.data import build_data_step

    with gr.Blocks() as demo:
        build_data_step(gr.State(RunConfig(model_id=TINY_MODEL_ID).to_dict()), gr.State(None))
    handlers = {fn.name: fn.fn for fn in demo.fns.values()}
    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()

    def page(session: str, current=None, accept: bool = True, previous=None) -> list:
        request = SimpleNamespace(session_hash=session)
        return handlers["check_with_model"](current, values, accept, previous, request, lambda *a, **k: None)

    page.show_split = handlers["show_split"]
    return page


def test_the_page_load_check_of_the_demo_is_done_once_for_everyone(tiny_model_path, monkeypatch):
    import ui.data

    checked, split = [], []
    real_check, real_split = ui.data.check_dataset, ui.data.split_dataset
    monkeypatch.setattr(
        ui.data, "check_dataset", lambda *a, **k: checked.append(k["max_length"]) or real_check(*a, **k)
    )
    monkeypatch.setattr(ui.data, "split_dataset", lambda *a: split.append(a[1:]) or real_split(*a))
    page = _page_load_check()
    ann, bob = page("ann"), page("bob")  # two people open the page: the demo is checked once
    assert checked == [None]
    assert ann[0] is bob[0] and ann[4] == bob[4] and "<" in ann[4]  # the same check and training preview
    assert page.show_split(ann[0], True, 10, 42) == page.show_split(bob[0], True, 10, 42) and len(split) == 1
    assert "validation" in page.show_split(bob[0], True, 20, 42) and len(split) == 2  # another share: split again
    assert page("cy", accept=False)[0].max_length == RunConfig().max_length  # another max length: checked
    assert page("dan", accept=False)[0] is page("cy", accept=False)[0]  # ... once
    assert checked == [None, RunConfig().max_length]
    other = dataclasses.replace(ann[0].draft, name="a copy")  # any other draft: checked each time, as before
    page("ann", current=other), page("bob", current=other)
    assert checked == [None, RunConfig().max_length, None, None]
    for update in ann:  # a temp-folder clean-up removed the downloads: checked again, never a missing file
        if isinstance(update, gr.DownloadButton):
            Path(update.constructor_args["value"]).unlink()
    again = page("eve")
    assert len(checked) == 5 and all(
        Path(u.constructor_args["value"]).is_file() for u in again if isinstance(u, gr.DownloadButton)
    )
