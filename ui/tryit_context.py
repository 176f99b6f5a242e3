"""What every part of the Try it step shares: the process-wide model pool, Stop buttons, and one person's models.

The pool is created once per process, on first use (it imports torch to
pick a device), and never lives in ``gr.State``: it holds locks and weights.
"""

from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr

from core.file_access import check_model_choice
from core.models.catalog import ModelUnavailableError, list_models
from core.models.pool import ModelPool, device_for_chat
from core.models.refs import ModelRef, model_refs_for, run_name
from core.paths import data_dir
from core.runs.manager import RunManager
from core.runs.store import RunFolder
from core.runs.trained_with import trained_system_prompt
from core.share import ShareError
from ui.identity import request_owner
from ui.tryit_views import TrainedPrompt, system_prompt_note

# What a user can cause by picking or typing something wrong: shown as a warning, the page keeps its state.
# (ChatError and EvaluationError are ValueErrors.)
EXPECTED_ERRORS = (ValueError, ModelUnavailableError, ShareError, OSError)

_pool: ModelPool | None = None
_pool_lock = threading.Lock()


def shared_pool() -> ModelPool:
    """The one model pool of this process: at most two base models loaded, adapters applied on top."""
    global _pool
    with _pool_lock:
        if _pool is None:
            device, _ = device_for_chat(training_active=False)
            _pool = ModelPool(max_loaded=2, device=device)
        return _pool


class StopSwitches:
    """One stop event per browser session and kind of generation; each new generation gets a fresh one."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    def fresh(self, request: gr.Request | None, kind: str) -> threading.Event:
        """A new stop event for this person's page and kind of generation (replacing the previous one)."""
        with self._lock:
            event = self._events[(_session(request), kind)] = threading.Event()
            return event

    def stop(self, request: gr.Request | None, kind: str) -> None:
        with self._lock:
            event = self._events.get((_session(request), kind))
        if event is not None:
            event.set()

    def handler(self, kind: str):
        """An event handler for a Stop button (gradio hands it the request because of the annotation)."""

        def stop(request: gr.Request) -> None:
            self.stop(request, kind)

        return stop


def _session(request: gr.Request | None) -> str:
    """This page of this person: the owner decided on the server, and the page's own session."""
    return f"{request_owner(request)}/{getattr(request, 'session_hash', None) or 'no-session'}"


def progress_reporter(progress: gr.Progress, expected: int):
    """A core progress callback that moves the bar one step per new kind of message (``expected`` ~ 95%).

    Messages that only count on ("rows 1-8 of 20, 31 of at most 96 tokens") update the text without moving
    the bar a step: they come once a second, and would fill it long before the work is done.
    """
    seen = [0]
    last = [""]

    def report(message: str) -> None:
        kind = message.split(",")[0]
        if kind != last[0]:
            seen[0] += 1
            last[0] = kind
        progress(min(seen[0] / max(expected, 1), 0.95), desc=message)

    return report


def model_picker(label: str, elem_id: str) -> gr.Dropdown:
    """A model list: filled on refresh; a typed folder or Hub id is accepted too."""
    return gr.Dropdown(
        label=label,
        choices=[],
        allow_custom_value=True,
        elem_id=elem_id,
        info="The base model, your runs' results and checkpoints; or type a local model folder or a Hub id.",
    )


# -- the system prompt shared by Chat, Side by side and Blind A/B ----------------------------------------
def prompt_state(trained: TrainedPrompt | None, prompt: str) -> list:
    """The note under the system prompt, the restore button (shown when the prompt differs) and the prompt's run."""
    differs = trained is not None and bool(trained.system_prompt) and prompt.strip() != trained.system_prompt.strip()
    return [system_prompt_note(trained, prompt), gr.Button(visible=differs), trained]


def prompt_edited(prompt: str, shown_for: TrainedPrompt | None) -> list:
    """The person typed in or cleared the system prompt: say whether it is still the one the run trained with.

    ``shown_for`` is server-side state, set by the handlers that checked the run is this person's.
    """
    return prompt_state(shown_for, prompt or "")


def restore_prompt(shown_for: TrainedPrompt | None) -> list:
    """Put the run's training system prompt back into the box."""
    prompt = shown_for.system_prompt if shown_for is not None else ""
    return [prompt, *prompt_state(shown_for, prompt)]


class TryItContext:
    """The run manager and model pool seen by one person: their own runs only (runs started by scripts too)."""

    def __init__(self, manager: RunManager) -> None:
        self.manager = manager
        self.stops = StopSwitches()
        self.pool = shared_pool

    def refs_for(self, who: str) -> list[ModelRef]:
        """The models this person may pick: the base models, and the results and checkpoints of their runs."""
        return model_refs_for(who, self.manager)

    def check_ref(self, ref: str, who: str) -> str:
        """``ref`` if this person may load it (one of their models, a Hub id, an allowed folder), else PathNotAllowed.

        A picker's value comes back from the page: a typed or forged path (another person's checkpoint, any
        folder on the server) is checked here, before the pool opens anything.
        """
        ref = (ref or "").strip()
        if ref in {r.ref for r in self.refs_for(who)}:
            return ref
        known = (m.model_id for m in list_models())
        return check_model_choice(ref, who, data_dir(), self.manager.run_dirs(who), known)

    def trained_prompt(self, picked: list[str | None], who: str) -> TrainedPrompt | None:
        """The system prompt the first of ``picked`` that is one of this person's runs' models was trained with.

        The values come back from the page: a run of someone else (a forged path or id) is not among this
        person's models, so nothing of it is read or shown.
        """
        own = {ref.ref: ref for ref in self.refs_for(who) if ref.run_id}
        for value in picked:
            model = own.get((value or "").strip())
            if model is not None:
                folder = RunFolder(self.manager.runs_dir / model.run_id)
                return TrainedPrompt(model.ref, run_name(folder), trained_system_prompt(folder))
        return None

    @staticmethod
    def names_for(refs: list[ModelRef]) -> dict[str, str]:
        return {ref.ref: ref.label for ref in refs}

    def training_active(self) -> bool:
        return self.manager.training_run() is not None

    def describe_device(self) -> str:
        """Where chat runs now, in a sentence, saying so when it shares the machine with a training run."""
        busy = self.training_active()
        _, why = device_for_chat(busy)
        if busy and "training run" not in why:
            why += " A training run is going on, so answers come slower: chat and training share the processor."
        return f"**Where chat runs:** {why}"

    def run_dir(self, run_id: str | None, who: str) -> Path:
        """The folder of one of this person's runs, or ValueError saying to pick one."""
        if not run_id or self.manager.get(run_id, owner=who) is None:
            raise ValueError("Pick one of your runs first (the list shows runs with a trained model).")
        return self.manager.runs_dir / run_id

    def run_choices(self, who: str) -> list[tuple[str, str]]:
        """(label, run id) of this person's runs that have a trained model, newest first."""
        from ui.train_views import run_choices

        return run_choices([s for s in self.manager.summaries(owner=who) if s.result_dir])
