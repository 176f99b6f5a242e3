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

from core.jobs import JobManager
from core.paths import runs_dir, trackio_dir
from ui.style import CSS, theme
from ui.train import build_train_step

INTRO = """
# SFT Coach
Fine-tune a small language model step by step, and see exactly what changes.
Everything runs on this machine: the default model (SmolLM2-135M-Instruct) and the demo datasets need no internet.
"""


def create_app(manager: JobManager | None = None) -> gr.Blocks:
    """Build the page. Pass a manager to share runs between apps (tests); by default one is created."""
    manager = manager or JobManager(runs_dir())
    os.environ.setdefault("TRACKIO_DIR", str(trackio_dir()))
    with gr.Blocks(title="SFT Coach") as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Train", id="train"):
            build_train_step(manager, trackio_dir=os.environ["TRACKIO_DIR"])
    demo.manager = manager  # tests and scripts reach the runs through the app
    return demo


def warm_up() -> None:
    """Prepare the offline model and import the training stack in the background, so Start is quick."""
    from core.models import ensure_offline_model

    try:
        ensure_offline_model(print)
        import trl  # noqa: F401  (import cost is paid here, not when the user clicks Start)
    except Exception as err:  # noqa: BLE001 - a failed warm-up is reported again, clearly, at Start
        print(f"Warm-up skipped: {err}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--no-warm-up", action="store_true", help="Skip preparing the model in the background.")
    args = parser.parse_args()
    demo = create_app()
    if not args.no_warm_up:
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    demo.queue(default_concurrency_limit=8).launch(
        server_name=args.host, server_port=args.port, share=False, theme=theme(), css=CSS, show_error=True
    )


if __name__ == "__main__":
    main()
