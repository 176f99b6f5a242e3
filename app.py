"""SFT Coach: a guided app for supervised fine-tuning with TRL.

Run ``python app.py`` (the README's quick start sets everything up first).
Nothing heavy happens at import time: torch, transformers and TRL are imported
when a run first needs them, so the page comes up fast.
"""

from __future__ import annotations

import argparse
import os
import threading

import gradio as gr

from core.config import RunConfig
from core.file_access import LOCAL_PATHS_ENV, default_local_paths
from core.models.catalog import default_model_id
from core.owners import oauth_enabled
from core.paths import app_secret, runs_dir, trackio_dir
from core.priority import lower_server_share
from core.runs.launcher import default_trainer
from core.runs.manager import RunManager
from core.storage import start_cleanup_thread
from ui.admin import build_admin_view, has_admin_view
from ui.checklist import build_checklist_step
from ui.data import build_data_step
from ui.identity import NamedEndpointsGuard, SessionCookieMiddleware
from ui.page_cache import PageCache
from ui.remember import PageMemory, wire_page_memory
from ui.settings import build_settings_step
from ui.style import CSS, TICKER_JS, theme
from ui.trackio_mount import TrackioMount
from ui.train import build_train_step
from ui.tryit import build_tryit_step
from ui.workshop import build_class_dataset_box, build_class_preset_box, build_class_tab, workshop_enabled

INTRO = """
# SFT Coach
Fine-tune a small language model step by step, and see exactly what changes.
The default model (SmolLM2-135M-Instruct) and the demo datasets work offline.
**In a hurry?** Open **4 · Train** and press *Start training*: the defaults are a quick demo that runs on a CPU.
"""

STEPS = ("checklist", "data", "settings", "train", "tryit")  # the step tabs' ids, in their order (ui/remember.py)


def create_app(manager: RunManager | None = None) -> gr.Blocks:
    """Build the page. Pass a manager to share runs between apps (tests); by default one is created."""
    os.environ.setdefault("TRACKIO_DIR", str(trackio_dir()))
    # Gradio's queue rebuilds its per-endpoint statistics (a pandas table of up to 10,000 past events) after
    # every event by default: 15-35 ms of server CPU per poll and per timer tick, taken from training on 2
    # cores. Every 500 events is plenty for the success rates on the API page, the only place they show.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "500")
    # After the environment is set: the warm standby worker starts with it and is used only while it holds.
    manager = manager or RunManager(runs_dir(), trainer=default_trainer())
    start_cleanup_thread(manager)  # old uploads and (if enabled) old runs: now, then every hour (core/storage.py)
    # Gradio's own temporary copies of uploads: the app keeps its copy in the data folder, so a day is plenty.
    with gr.Blocks(title="SFT Coach", delete_cache=(3600, 86400)) as demo:
        config_state = gr.State(RunConfig(model_id=default_model_id()).to_dict())
        dataset_rows = gr.State(None)
        restored = gr.State(None)  # changes once the page has what it remembers for this person (ui/remember.py)
        memory = PageMemory(manager, STEPS)
        workshop = workshop_enabled()  # someone can be the instructor: shared starting points and the Class tab
        gr.Markdown(INTRO, elem_id="intro")
        _gpu_warning()
        if oauth_enabled():  # only on a Space with Hugging Face login: runs then follow the account
            gr.LoginButton(elem_id="hf-login")
        banner = gr.HTML(elem_id="verdict-banner")
        # "wrap": on a phone the five steps wrap onto a second row, every one labelled (not folded into "•••")
        with gr.Tabs(selected="checklist", overflow_behavior="wrap", elem_id="steps") as tabs:
            with gr.Tab("1 · Should I fine-tune?", id="checklist"):
                checklist = build_checklist_step(dataset_rows, banner)
                _next_button(tabs, "data", "Next: 2 · Data", memory)
            with gr.Tab("2 · Data", id="data") as data_tab:
                if workshop:
                    build_class_dataset_box(config_state, dataset_rows, opened=data_tab)
                build_data_step(config_state, dataset_rows, manager)
                _next_button(tabs, "settings", "Next: 3 · Settings", memory)
            with gr.Tab("3 · Settings", id="settings") as settings_tab:
                class_preset = build_class_preset_box() if workshop else None
                settings = build_settings_step(config_state, manager, restored)
                if class_preset:
                    class_preset.wire(settings, config_state, opened=settings_tab)
                _next_button(tabs, "train", "Next: 4 · Train", memory)
            with gr.Tab("4 · Train", id="train"):
                train = build_train_step(manager, config_state)
                _next_button(tabs, "tryit", "Next: 5 · Try it", memory)
            with gr.Tab("5 · Try it", id="tryit") as tryit_tab:
                build_tryit_step(manager, opened=tryit_tab)
            if workshop:
                with gr.Tab("Class", id="class") as class_tab:
                    build_class_tab(manager, class_tab)
            if has_admin_view():  # no password and no Space owner to sign in: no admin tab at all
                with gr.Tab("Admin", id="admin"):
                    build_admin_view(manager)
        # a run submitted to Hugging Face Jobs: the Train step shows it, like a run just started
        settings.jobs_submitted.change(show_submitted_run, settings.jobs_submitted, train.run_id).then(
            lambda: gr.Tabs(selected="train"), None, tabs
        )
        wire_page_memory(memory, config_state, dataset_rows, checklist.radios, tabs, restored, demo)
    _keep_page_events_private(demo, train.api_names)
    demo.manager = manager  # tests and scripts reach the runs through the app
    demo.script_api_names = train.api_names  # the only endpoints served by name (main, NamedEndpointsGuard)
    return demo


def _gpu_warning() -> None:
    """A banner above the steps when the machine was given a GPU that PyTorch can't use (core/device.py).

    Checked once, as the page is built: a Space whose torch build needs a newer driver than its GPU has would
    otherwise train on its CPU without a word. Said in the server log too.
    """
    from core.device import check_gpu_in_use
    from core.sources import link_sources_html

    warning = check_gpu_in_use()
    if warning:
        print(f"WARNING: {warning}", flush=True)
        text = link_sources_html(warning)  # escaped, with NVIDIA's driver table as a link
        gr.HTML(
            f'<div class="coach-gpu-warning" role="alert"><b>The GPU is not in use.</b> {text}</div>',
            elem_id="gpu-warning",
        )


def show_submitted_run(run_id: str | None) -> str | None:
    """The run a Jobs submission just listed becomes the one the Train step shows (its refresh checks the owner)."""
    return run_id


def _keep_page_events_private(demo: gr.Blocks, api_names: tuple[str, ...]) -> None:
    """Only the script endpoints form the API; the page's own events are not offered to API clients.

    "private" takes an event off ``/gradio_api/info`` (even with ``all_endpoints=true``), so ``gradio_client``
    and ``/call/<name>`` can't reach it by name. The page still calls its events by number, and so can anyone
    who copies it: that is why every event decides who is asking on the server (ui/identity.py), and why
    tests/test_attacks.py calls every event by number as a stranger. Fewer documented endpoints also spare
    Gradio building code snippets for ~90 events on every page load (~85 ms of server CPU).
    """
    for fn in demo.fns.values():
        if fn.api_name not in api_names:
            fn.api_visibility = "private"


def _next_button(tabs: gr.Tabs, target: str, label: str, memory: PageMemory) -> None:
    """A button to the next step; the page remembers it as the step the person is on."""
    button = gr.Button(f"{label} →", elem_id=f"next-{target}", elem_classes=["coach-next"])
    button.click(lambda: gr.Tabs(selected=target), None, tabs).then(memory.step_keeper(target), None, None)


def warm_up() -> None:
    """Prepare the offline model and import the training stack in the background, so Start is quick."""
    from core.ml_stack import import_training_stack
    from core.models.catalog import ensure_offline_model

    try:
        import_training_stack()  # under the lock that a run started meanwhile waits on (core/ml_stack.py)
        ensure_offline_model(print)
    except Exception as err:  # noqa: BLE001 - a failed warm-up is reported again, clearly, at Start
        print(f"Warm-up skipped: {err}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--no-warm-up", action="store_true", help="Skip preparing the model in the background.")
    args = parser.parse_args()
    # Typed paths of server files: on for one person on their own machine, off on a shared deployment (a Space
    # binds to 0.0.0.0), unless the admin says otherwise (core/file_access.py). Set before the page is built.
    os.environ.setdefault(LOCAL_PATHS_ENV, default_local_paths(args.host))
    print(lower_server_share())  # before any worker starts: each worker's own session keeps its full share
    demo = create_app()
    if not args.no_warm_up:
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    from starlette.middleware import Middleware

    from core.data.load import max_upload_mb

    # api_open=False: a direct POST (run/predict) reaches only the events off the queue, wherever the app runs
    # (Gradio sets it so on a Space); everything else joins the queue and its concurrency limits.
    demo.queue(default_concurrency_limit=8, api_open=False).launch(
        server_name=args.host,
        server_port=args.port,
        share=False,
        theme=theme(),
        css=CSS,
        js=TICKER_JS,
        show_error=True,
        max_file_size=int(max_upload_mb() * 1024 * 1024),  # refuse oversized uploads before they fill the disk
        # A signed, HttpOnly session cookie on every request: the server's answer to "who is asking" (ui/identity.py)
        app_kwargs={
            "middleware": [
                Middleware(SessionCookieMiddleware, secret=app_secret()),
                # the page built once per address, not per visit (ui/page_cache.py)
                Middleware(PageCache, blocks=demo),
                Middleware(NamedEndpointsGuard, allowed=demo.script_api_names),
                Middleware(TrackioMount),  # /trackio/: each person's own trackio dashboard (ui/trackio_mount.py)
            ]
        },
    )


if __name__ == "__main__":
    main()
