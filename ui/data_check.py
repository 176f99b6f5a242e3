"""The Data step's check of every row with the model's tokenizer, and the validation split made from what passed.

The check tokenises every row (~48 s of a core per 100k rows, bench/RESULTS.md), so it runs on its own event
with a progress bar, one at a time per person, and stops when a newer check or the page closing replaces it
(core/data/heavy_work.py). The page-load check of the starting demo is the same for every page: it is done once
per model and max length and shared. The check itself is ``core.data.wizard.check_dataset``.
"""

from __future__ import annotations

import gradio as gr

from core.config import RunConfig
from core.data.errors import DataError
from core.data.heavy_work import HeavyWorkLimiter, WorkCancelled, WorkTicket
from core.data.wizard import DataCheck, DataDraft, cached_tokenizer, check_dataset, split_dataset
from core.models.catalog import ModelUnavailableError
from ui.data_outputs import (
    CHECK_OUTPUTS,
    check_updates,
    downloads_exist,
    draft_or_start,
    model_max_length,
    starting_draft,
)
from ui.data_views import render_message
from ui.identity import request_owner
from ui.shared_cache import SharedLRU
from ui.toasts import warn

DEFAULTS = RunConfig()  # the model and max length to check with when the settings name none


def heavy_work_owner(request: gr.Request | None) -> str:
    """Whose data check this is, for "one check at a time per person" (core/data/heavy_work.py): the person
    decided on the server (ui/identity.py), so their open tabs share one slot."""
    return request_owner(request)


def _page(request: gr.Request | None) -> str:
    """The page (browser session) an event came from: closing it stops the checks it asked for."""
    return getattr(request, "session_hash", None) or ""


class RowChecks:
    """The Data step's check and split handlers, with what one app shares across its pages: one check at a time
    per person, and the starting demo's checks and splits."""

    def __init__(self) -> None:
        # Without the limiter, seven uploads in a row checked on for minutes after their pages closed.
        self.heavy_work = HeavyWorkLimiter()
        # Tokenising every row of the demo and rendering its preview took ~0.6 s of CPU per page load.
        self.initial_checks = SharedLRU(8)
        self.initial_splits = SharedLRU(8)  # the split of a shared check, which every page shows next (~30 ms)

    def check_with_model(
        self,
        current: DataDraft | None,
        values: dict,
        accept_recommended: bool,
        previous: DataCheck | None,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008 - gradio injects it
    ) -> list:
        """Check every row with the settings' model: report, downloads, training preview, lengths (or skip all)."""
        current = draft_or_start(current)
        skipped = [gr.skip()] * len(CHECK_OUTPUTS)
        if current.conversion is None:
            return skipped
        model_id = (values or {}).get("model_id") or DEFAULTS.model_id
        settings_length = int((values or {}).get("max_length") or DEFAULTS.max_length)
        reuse = previous is not None and previous.draft is current and previous.model_id == model_id
        if reuse:
            if previous.problem:
                return skipped  # same model, same failure: don't retry on every change
            wanted = previous.recommended_max_length if accept_recommended else settings_length
            if wanted == previous.max_length:
                return skipped
        max_length = None if accept_recommended else settings_length
        is_start = current is starting_draft()
        known = self.initial_checks.get((model_id, max_length), downloads_exist) if is_start else None
        if known is not None:
            return list(known)
        try:  # only here, where rows get tokenised: a page-load answer from the cache never waits or stops one
            ticket = self.heavy_work.begin(heavy_work_owner(request), page=_page(request))
        except WorkCancelled:
            return skipped  # a still newer check came while this one waited
        except DataError as err:
            warn(str(err))
            return [gr.skip(), render_message(str(err), "error"), *skipped[2:]]
        try:
            updates = self._check_rows(
                current, model_id, settings_length, max_length, previous if reuse else None, progress, ticket
            )
        except WorkCancelled:
            return skipped  # replaced by a newer check (which shows its own result) or nobody is watching
        finally:
            self.heavy_work.end(ticket)
        return updates if self.heavy_work.is_newest(ticket) else skipped

    def page_closed(self, request: gr.Request) -> None:
        """A page closed: stop the checks it asked for, at their next batch of rows."""
        self.heavy_work.cancel_page(_page(request))

    def _check_rows(
        self,
        current: DataDraft,
        model_id: str,
        settings_length: int,
        max_length: int | None,
        reused: DataCheck | None,
        progress,
        ticket: WorkTicket,
    ) -> list:
        progress(0.05, desc=f"Loading the tokenizer of {model_id}…")
        try:
            tokenizer = cached_tokenizer(model_id)
        except (DataError, ModelUnavailableError, OSError, ValueError) as err:
            problem = f"the tokenizer of '{model_id}' could not be loaded ({err})."
            warn(f"Only the structure of the rows was checked: {problem}")
            failed = DataCheck(current, model_id, current.report, settings_length, problem=problem)
            return check_updates(failed, None)
        progress(0.3, desc="Checking every row with the chat template and measuring its tokens…")
        try:
            result = check_dataset(
                current,
                tokenizer,
                model_id=model_id,
                max_length=max_length,
                model_max_length=model_max_length(model_id),
                lengths=reused.lengths if reused else None,
                checkpoint=ticket.raise_if_stopped,
            )
            ticket.raise_if_stopped()  # the downloads and preview below are for someone still waiting for them
            progress(0.8, desc="Rendering the training text…")
            updates = check_updates(result, tokenizer)
            if current is starting_draft():
                self.initial_checks.put((model_id, max_length), list(updates))
            return updates
        except DataError as err:
            warn(str(err))
            failed = DataCheck(current, model_id, current.report, settings_length, problem=str(err))
            return check_updates(failed, None)

    def show_split(self, current: DataCheck | None, use_provided: bool, share: float, split_seed: float | None) -> str:
        """Say how the rows that passed the checks split into training and validation rows."""
        if current is None:
            return "<p class='coach-muted'>The split is made from the rows that pass the checks.</p>"
        key = (id(current), use_provided, share, split_seed)
        is_start = current.draft is starting_draft()
        known = self.initial_splits.get(key, lambda kept: kept[0] is current) if is_start else None
        if known is not None:
            return known[1]
        try:
            split = split_dataset(current, share / 100, int(split_seed or 0), use_provided)
        except DataError as err:
            return render_message(str(err), "error")
        note = current.draft.validation_note if use_provided and current.draft.validation_rows else ""
        text = " ".join(part for part in (note, split.description, *split.warnings) if part)
        shown_split = render_message(text, "ok" if not split.warnings else "warning")
        if is_start:
            self.initial_splits.put(key, (current, shown_split))
        return shown_split
