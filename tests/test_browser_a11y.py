"""Accessibility of the launched app in a real browser: every control has a name, and the flow works by keyboard.

A screen reader announces a control by its accessible name (its label, ``aria-label`` or
``aria-labelledby``; a button's text). These tests open every step, sub-tab and folded
section, and check each visible input, text area, select and button has one, both from the
DOM and from Chromium's accessibility tree (Playwright's ARIA snapshot). Then a keyboard-only
person walks the first steps: Tab to a step tab or a Next button, see the focus ring, press
Enter or Space.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import accessible_controls, app_errors, chromium_page, focused, shot

pytestmark = pytest.mark.browser
STEPS = ["1 · Should I fine-tune?", "2 · Data", "3 · Settings", "4 · Train", "5 · Try it"]
SUB_TABS = {
    "2 · Data": ["Built-in demo", "Upload a file", "Hugging Face Hub", "Local file or folder"],
    "5 · Try it": ["Chat", "Side by side", "Blind A/B", "Probe set", "Quick scores", "Share"],
}
NAMED_ROLES = ("textbox", "combobox", "spinbutton", "slider", "checkbox", "radio", "button", "tab", "listbox")


def open_folded_sections(page) -> None:
    """Unfold every visible accordion (Advanced settings, Chart options, Generation settings...)."""
    folded = page.locator(".label-wrap:not(.open):visible")
    for _ in range(20):  # opening one can reveal another inside it
        if not folded.count():
            break
        folded.first.click()
        page.wait_for_timeout(200)


def unnamed_in_accessibility_tree(page) -> list[str]:
    """Lines of Chromium's accessibility tree for controls that have no name, e.g. ``- textbox`` or ``- button ""``."""
    unnamed = []
    for line in page.locator("body").aria_snapshot().splitlines():
        match = re.match(r"\s*- (\w+)(?: \"([^\"]*)\")?", line)
        if match and match.group(1) in NAMED_ROLES and not (match.group(2) or "").strip():
            unnamed.append(line.strip())
    return unnamed


def test_every_visible_control_has_an_accessible_name(server):  # noqa: F811
    with chromium_page() as (page, errors):
        page.goto(server.url)
        page.get_by_text("SFT Coach").first.wait_for()
        checked: dict[str, list[dict]] = {}
        unnamed_tree: list[str] = []
        for step in STEPS:
            page.get_by_role("tab", name=step).click()
            page.wait_for_timeout(1500)  # let the step's first events render
            for sub_tab in SUB_TABS.get(step, [None]):
                if sub_tab:
                    page.get_by_role("tab", name=sub_tab, exact=True).click()
                open_folded_sections(page)
                where = f"{step} / {sub_tab}" if sub_tab else step
                checked[where] = accessible_controls(page)
                unnamed_tree += [f"{where}: {line}" for line in unnamed_in_accessibility_tree(page)]
        shot(page, "a11y-tryit-unfolded")

        missing = [f"{where}: {c}" for where, controls in checked.items() for c in controls if not c["name"]]
        assert not missing, "Controls without an accessible name:\n" + "\n".join(missing)
        assert not unnamed_tree, "Unnamed in the accessibility tree:\n" + "\n".join(unnamed_tree)
        # The check looked at the page a person uses, not an empty one: the main controls are there by name.
        names = {c["name"] for controls in checked.values() for c in controls}
        for expected in ("Start training", "Use this dataset", "Dataset id", "Export recipe", "Send", "Compare"):
            assert any(expected in name for name in names), expected
        assert sum(len(c) for c in checked.values()) > 150
        assert not app_errors(errors), errors


def tab_until(page, is_target, limit: int = 60) -> dict:
    """Press Tab until ``is_target(focused element)``; returns that element's description."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if is_target(now):
            return now
    raise AssertionError(f"Tab never reached the target in {limit} presses; focus ended on {focused(page)}")


def test_the_guided_flow_works_with_the_keyboard(server):  # noqa: F811
    with chromium_page() as (page, errors):
        page.goto(server.url)
        page.get_by_text("SFT Coach").first.wait_for()
        page.locator("#checklist-verdict").wait_for()

        # The step tabs are reachable with Tab, show where the focus is, and Enter opens the step.
        tab = tab_until(page, lambda f: f["role"] == "tab" and f["text"] == "3 · Settings")
        assert tab["focusVisible"] and tab["ring"], tab
        assert tab["selected"] == "false", tab
        page.keyboard.press("Enter")
        assert focused(page)["selected"] == "true"
        page.locator("#settings-cards").get_by_text("Learning rate").wait_for(timeout=60_000)

        # Back on step 1: answer the checklist with Space, then the Next button with Enter.
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        assert focused(page)["text"] == "1 · Should I fine-tune?"
        page.keyboard.press("Enter")
        answered = 0
        for _ in range(40):
            page.keyboard.press("Tab")
            label = page.evaluate("() => (document.activeElement.closest('label') || {}).textContent || ''")
            if label.strip() == "Yes":
                page.keyboard.press("Space")
                answered += 1
            if focused(page)["id"] == "next-data":
                break
        assert answered == 5, answered
        page.locator("#checklist-verdict").get_by_text("Fine-tuning looks worth it.").wait_for()
        next_button = focused(page)
        assert next_button["id"] == "next-data" and next_button["focusVisible"] and next_button["ring"], next_button
        shot(page, "a11y-keyboard-next-focused")
        page.keyboard.press("Enter")
        page.locator("#data-detected").get_by_text("JSON extraction", exact=False).first.wait_for()
        assert page.get_by_role("tab", name="2 · Data").get_attribute("aria-selected") == "true"
        assert not app_errors(errors), errors
