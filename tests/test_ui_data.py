"""The Data step's guard: of overlapping checks in one browser session, only the newest shows its result."""

from __future__ import annotations

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
