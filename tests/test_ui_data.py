"""The Data step's guard: a check stops when its page closes or a newer one starts, and shows nothing then
(core/data/heavy_work.py has the limiter's own tests); and the page-load check of the built-in demo, done once for
every page."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gradio as gr

from core.config import RunConfig


def _page_load_check(request_as):
    """The Data step's tokenizer check as the page calls it (one app's checks), its outputs by name."""
    from core.models.catalog import TINY_MODEL_ID
    from ui.data_check import RowChecks
    from ui.data_outputs import CHECK_OUTPUTS

    checks = RowChecks()
    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()

    def page(session: str, current=None, accept: bool = True, previous=None) -> dict:
        request = request_as(session, session_hash=session)  # one person, one page
        updates = checks.check_with_model(current, values, accept, previous, request, lambda *a, **k: None)
        return dict(zip(CHECK_OUTPUTS, updates, strict=True))

    page.show_split = checks.show_split
    page.closed = lambda session: checks.page_closed(request_as(session, session_hash=session))
    return page


def test_a_check_stops_at_its_next_batch_when_its_page_closes_and_shows_nothing(
    tiny_model_path, monkeypatch, request_as
):
    import ui.data_check

    page = _page_load_check(request_as)
    demo_check = page("ann")["check"]
    batches = []

    def check_dataset(*args, checkpoint, **kwargs):
        for batch in range(100):  # what measure_lengths does between batches of rows
            batches.append(batch)
            if batch == 3:
                page.closed("ann")  # the tab is closed while its rows are being checked
            checkpoint()
        raise AssertionError("the check went on after its page closed")

    monkeypatch.setattr(ui.data_check, "check_dataset", check_dataset)
    uploaded = dataclasses.replace(demo_check.draft, name="an upload")  # not the shared demo: really checked
    updates = page("ann", current=uploaded)
    assert batches == [0, 1, 2, 3]
    assert all(update == gr.skip() for update in updates.values())  # nothing is rendered for a page that is gone
    page.closed("bob")  # closing a page with no check running is harmless


def test_a_check_replaced_by_a_newer_one_stops_shows_nothing_and_the_newer_one_shows_its_result(
    tiny_model_path, monkeypatch, request_as
):
    import threading

    import ui.data_check

    page = _page_load_check(request_as)
    uploaded = dataclasses.replace(page("ann")["check"].draft, name="an upload")
    real_check, newer = ui.data_check.check_dataset, {}

    def check_dataset(*args, checkpoint, **kwargs):
        if newer:
            return real_check(*args, checkpoint=checkpoint, **kwargs)
        # While the first check runs, the person picks another model: a second check starts, stops this one and
        # waits for it (one check at a time per person).
        newer["thread"] = threading.Thread(target=lambda: newer.update(result=page("ann", current=uploaded)))
        newer["thread"].start()
        while True:  # the first check's batches, until it is told to stop
            checkpoint()
            threading.Event().wait(0.01)

    monkeypatch.setattr(ui.data_check, "check_dataset", check_dataset)
    first = page("ann", current=uploaded)
    newer["thread"].join(120)
    assert all(update == gr.skip() for update in first.values())
    newest = newer["result"]
    assert newest["check"].draft is uploaded and "<" in newest["training_preview"]  # the newer check's preview


def test_the_page_load_check_of_the_demo_is_done_once_for_everyone(tiny_model_path, monkeypatch, request_as):
    import ui.data_check

    checked, split = [], []
    real_check, real_split = ui.data_check.check_dataset, ui.data_check.split_dataset
    monkeypatch.setattr(
        ui.data_check, "check_dataset", lambda *a, **k: checked.append(k["max_length"]) or real_check(*a, **k)
    )
    monkeypatch.setattr(ui.data_check, "split_dataset", lambda *a: split.append(a[1:]) or real_split(*a))
    page = _page_load_check(request_as)
    ann, bob = page("ann"), page("bob")  # two people open the page: the demo is checked once
    assert checked == [None]
    assert ann["check"] is bob["check"] and ann["training_preview"] == bob["training_preview"]  # the same check
    assert "<" in ann["training_preview"]  # ... and its training preview
    first, second = page.show_split(ann["check"], True, 10, 42), page.show_split(bob["check"], True, 10, 42)
    assert first == second and len(split) == 1
    assert "validation" in page.show_split(bob["check"], True, 20, 42) and len(split) == 2  # another share: again
    assert page("cy", accept=False)["check"].max_length == RunConfig().max_length  # another max length: checked
    assert page("dan", accept=False)["check"] is page("cy", accept=False)["check"]  # ... once
    assert checked == [None, RunConfig().max_length]
    other = dataclasses.replace(ann["check"].draft, name="a copy")  # any other draft: checked each time, as before
    page("ann", current=other), page("bob", current=other)
    assert checked == [None, RunConfig().max_length, None, None]
    for update in ann.values():  # a temp-folder clean-up removed the downloads: checked again, never a missing file
        if isinstance(update, gr.DownloadButton):
            Path(update.constructor_args["value"]).unlink()
    again = page("eve")
    assert len(checked) == 5 and all(
        Path(u.constructor_args["value"]).is_file() for u in again.values() if isinstance(u, gr.DownloadButton)
    )


def test_on_a_shared_deployment_there_is_no_path_loader_at_all(monkeypatch):
    from ui.data import build_data_step

    monkeypatch.setenv("SFT_COACH_LOCAL_PATHS", "0")
    with gr.Blocks() as demo:
        build_data_step(gr.State(RunConfig().to_dict()), gr.State(None))
    assert "pick_path" not in {fn.name for fn in demo.fns.values()}


def test_the_path_loader_refuses_system_files_and_the_secret_without_showing_them(local_paths, data_dir, request_as):
    from core.paths import app_secret
    from ui.data import FileLoads
    from ui.data_outputs import DRAFT_OUTPUTS

    secret = app_secret()

    def pick_path(typed: str) -> dict:
        return dict(zip(DRAFT_OUTPUTS, FileLoads(manager=None).pick_path(typed, None, request_as("ann")), strict=True))

    (local_paths / "chats.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}]}\n' * 3)
    for typed in ("/etc/passwd", str(data_dir / ".secret"), str(local_paths / ".." / "data" / ".secret")):
        shown = pick_path(typed)
        assert "is not a file or folder you can use here" in shown["message"]
        assert "root:x" not in str(shown) and secret not in str(shown)
    loaded = pick_path(str(local_paths / "chats.jsonl"))
    assert "Could not use" not in str(loaded["message"]) and "chats.jsonl" in str(loaded)  # an allowed file loads


def _loaded_path(path, request_as) -> dict:
    from ui.data import FileLoads
    from ui.data_outputs import DRAFT_OUTPUTS

    return dict(zip(DRAFT_OUTPUTS, FileLoads(manager=None).pick_path(str(path), None, request_as("ann")), strict=True))


def test_a_file_that_needs_a_mapping_clears_the_previous_results_and_use_names_the_mapping(
    tiny_model_path, local_paths, request_as
):
    from ui.data import use_dataset
    from ui.data_outputs import CHECK_OUTPUTS, stale_check_cleared, use_state

    page = _page_load_check(request_as)
    demo = page("ann")["check"]  # the demo, checked: its split, preview, report and downloads are on the page
    assert use_state(None, demo)[0].constructor_args["interactive"] is True
    (local_paths / "odd.jsonl").write_text('{"alpha": "a question", "beta": "an answer"}\n' * 3)
    new = _loaded_path(local_paths / "odd.jsonl", request_as)["draft"]
    assert new.detection.needs_mapping and new.conversion is None
    cleared = dict(zip(CHECK_OUTPUTS, stale_check_cleared(new, demo), strict=True))
    assert cleared["check"] is None and cleared["histogram"] is None and cleared["loss_advice"] == ""
    assert "Pick the prompt and answer columns first" in cleared["training_preview"]
    assert "Token lengths are measured" in cleared["lengths"]
    assert not cleared["report_file"].constructor_args["visible"] and not cleared["export"].constructor_args["visible"]
    assert "The split is made from the rows that pass the checks" in page.show_split(None, True, 5, 42)  # no old split
    assert all(update == gr.skip() for update in page("ann", current=new).values())  # the check leaves them cleared
    button, reason = use_state(new, demo)
    assert button.constructor_args["interactive"] is False and "Pick the prompt and answer columns first" in reason
    # A click that comes anyway (what a page sends is input) is refused with the same reason, not "still checking".
    _, _, message = use_dataset(demo, new, True, 5, 42, RunConfig().to_dict(), request_as("ann"))
    assert "Pick the prompt and answer columns first" in message and "being checked" not in message


def test_use_says_checking_until_the_new_files_check_is_done_then_works(tiny_model_path, local_paths, request_as):
    from ui.data_outputs import CHECK_OUTPUTS, stale_check_cleared, use_state

    page = _page_load_check(request_as)
    demo = page("ann")["check"]
    (local_paths / "notes.txt").write_text("First note.\n\nSecond note, a little longer.")
    new = _loaded_path(local_paths / "notes.txt", request_as)["draft"]
    cleared = dict(zip(CHECK_OUTPUTS, stale_check_cleared(new, demo), strict=True))
    assert cleared["check"] is None and "Checking rows…" in cleared["training_preview"]
    assert "Checking rows…" in use_state(new, demo)[1]
    own = page("ann", current=new)["check"]
    button, reason = use_state(new, own)
    assert own.draft is new and button.constructor_args["interactive"] is True and reason == ""
    assert all(update == gr.skip() for update in stale_check_cleared(new, own))  # its own check stays


def test_use_names_why_no_row_can_be_trained(data_tokenizer):
    from core.data.load import loaded_from_rows
    from core.data.wizard import check_dataset, draft_dataset
    from ui.data_outputs import use_state

    draft = draft_dataset(loaded_from_rows([{"text": " "}, {"text": ""}], "blank.jsonl"), "blank")
    check = check_dataset(draft, data_tokenizer, model_id="tiny")
    button, reason = use_state(draft, check)
    assert button.constructor_args["interactive"] is False
    assert "No row can be trained: empty text (2 rows)." in reason
