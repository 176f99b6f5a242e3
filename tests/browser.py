"""Debian's Chromium driven by Playwright for Python (never a downloaded browser), and what a person sees on the page.

The helpers read the page the way a person does: text, enabled buttons, the points drawn in a chart, where
the keyboard focus is. Screenshots go to ``test-artifacts/screenshots``.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium_page(width: int = 1366, height: int = 768) -> Iterator:
    """A fresh page in a fresh profile; yields (page, console_errors) where errors collect console/page errors."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            yield page, errors
        finally:
            context.close()


@contextlib.contextmanager
def chromium_people(count: int, width: int = 1366, height: int = 768) -> Iterator:
    """``count`` people at once: one browser, a fresh context (own cookies, so own session) each.

    Yields a list of (page, console_errors), one per person.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        people = []
        try:
            for _ in range(count):
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                errors: list[str] = []
                page.on("console", lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None)
                page.on("pageerror", lambda err, errors=errors: errors.append(str(err)))
                people.append((page, errors))
            yield people
        finally:
            browser.close()


# ---- what a person sees, read from the page ----------------------------------------------------------------------

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
# Messages the browser prints that are not errors of this app (none are known today; keep this list short).
IGNORED_CONSOLE: tuple[str, ...] = ()


def shot(page, name: str, element: str | None = None) -> None:
    """Save a screenshot as evidence (``test-artifacts/screenshots/<name>.png``): look at them.

    The whole page, or with ``element`` (a selector) the window scrolled to show that element at the top.
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    if element:
        page.locator(element).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(SHOTS / f"{name}.png"))
    else:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def app_errors(errors: list[str]) -> list[str]:
    """The console errors ``chromium_page`` collected that are this app's (all but ``IGNORED_CONSOLE``)."""
    return [e for e in errors if not any(i in e for i in IGNORED_CONSOLE)]


# What the old page prints when a reload aborts its open requests (the queue's stream, a poll): not app errors.
RELOAD_ABORTS = ("AbortError", "Connection errored out")


def reload_page(page, errors: list[str]) -> None:
    """Reload like a person pressing F5, and drop only the errors the old page printed as the reload aborted it.

    Any other error printed meanwhile stays in ``errors`` for the test's final check.
    """
    before = len(errors)
    page.reload()
    page.get_by_text("SFT Coach").first.wait_for()
    errors[before:] = [e for e in errors[before:] if not any(a in e for a in RELOAD_ABORTS)]


def plot_points(page, elem_id: str) -> list[int]:
    """Number of points in each trace of a plotly chart, read from the page."""
    return page.evaluate(
        """(id) => { const p = document.querySelector('#' + id + ' .js-plotly-plot');
                     return p && p.data ? p.data.map(t => (t.x || []).length) : []; }""",
        elem_id,
    )


def wait_for(predicate, timeout: float = 120, interval: float = 0.5, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (and return that), or fail saying what was awaited."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def set_slider(page, elem_id: str, value: int, tries: int = 4) -> None:
    """Type ``value`` into a slider's number box and wait until the slider itself holds it.

    Gradio takes a typed number on Enter or blur; an event fired before then
    still sees the old value (a side-by-side note once said 256 new tokens,
    not the 48 typed a moment before). And now and then the typed number is
    dropped and the slider shows its old value again (seen on 40babc0 as well,
    about one run in three, in Gradio 6.31's slider): the helper then types it
    again, as a person would, and fails only if it never holds.
    """
    box = page.locator(f"#{elem_id} input[type=number]")
    slider = page.locator(f"#{elem_id} input[type=range]")
    for attempt in range(tries):
        box.fill(str(value))
        box.press("Enter")
        box.blur()
        try:
            wait_for(lambda: slider.input_value() == str(value), timeout=5, what=f"{elem_id} to hold {value}")
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def answer_checklist(page, answers: dict[str, str]) -> None:
    """Answer checklist questions as a person clicks them ({question key: "Yes" | "No" | "Not sure"}); waits for the
    verdict that lists a "not sure" answer (every caller answers at least one so)."""
    page.locator("#checklist-verdict").get_by_text("Answer the five questions").wait_for(timeout=60_000)
    for key, answer in answers.items():
        page.locator(f"#q-{key}").get_by_text(answer, exact=True).click()
    page.locator("#checklist-verdict").get_by_text("Not sure yet:", exact=False).first.wait_for(timeout=60_000)


def run_phase(page) -> str:
    """The Train step's status badge (Running, Stopped, Finished...)."""
    return page.locator("#run-status .coach-badge").inner_text(timeout=5000)


def train_demo_run(page, steps: int = 4) -> str:
    """Train the default demo for ``steps`` steps through the Settings and Train tabs; returns the run id."""
    open_tab(page, "3 · Settings")
    box = page.locator("#max-steps input[type=number]")
    box.fill(str(steps))
    box.press("Enter")
    open_tab(page, "4 · Train")
    page.locator("#train-summary").get_by_text(f"{steps} steps").wait_for()
    page.locator("#start-training").click()
    wait_for(lambda: run_phase(page) == "Finished", timeout=300, what="the run to finish")
    return page.locator("#run-status .coach-run-id").inner_text().removeprefix("run ").strip()


# Every visible form control and button, with the name a screen reader would announce (a simplified version of
# the accessible-name computation: aria-labelledby, aria-label, <label>, then a button's own text or title).
ACCESSIBLE_NAMES_JS = """() => {
  const visible = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const text = e => (e ? e.textContent : '').replace(/\\s+/g, ' ').trim();
  const nameOf = e => {
    const by = e.getAttribute('aria-labelledby');
    const labelledBy = by ? by.split(/\\s+/).map(id => text(document.getElementById(id))).join(' ').trim() : '';
    if (labelledBy) return labelledBy;
    const aria = (e.getAttribute('aria-label') || '').trim();
    if (aria) return aria;
    if (e.labels && e.labels.length) { const t = [...e.labels].map(text).join(' ').trim(); if (t) return t; }
    if (e.tagName === 'BUTTON' || e.getAttribute('role') === 'tab') { if (text(e)) return text(e); }
    return (e.getAttribute('title') || '').trim();
  };
  const controls = document.querySelectorAll('input, textarea, select, button, [role=button], [role=tab]');
  return [...controls]
    .filter(e => e.type !== 'hidden' && visible(e))
    .map(e => ({tag: e.tagName.toLowerCase(), type: e.type || '', name: nameOf(e),
                where: (e.closest('[id]') || {}).id || '', placeholder: e.placeholder || ''}));
}"""


def accessible_controls(page) -> list[dict]:
    """The visible inputs, text areas, selects and buttons of the page, each with its accessible name."""
    return page.evaluate(ACCESSIBLE_NAMES_JS)


def focused(page) -> dict:
    """The element that has keyboard focus: its text, role, id, and whether the browser draws a focus ring."""
    return page.evaluate(
        """() => { const e = document.activeElement; const s = getComputedStyle(e);
                   const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
                   const ring = outline || s.boxShadow !== 'none';
                   return {text: (e.textContent || '').trim(), role: e.getAttribute('role') || '', id: e.id,
                           selected: e.getAttribute('aria-selected'),
                           focusVisible: e.matches(':focus-visible'), ring}; }"""
    )
