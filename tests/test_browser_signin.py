"""The signed-in flow in a real browser: sign in with Hugging Face, push with no token box, open your own
trackio dashboard; a second browser that has not signed in sees none of it.

The app has login on and Gradio mocks the login as it documents for local testing (tests/signed_in.py), with
``huggingface_hub`` in the app pointed at the fake Hub. Screenshots go to test-artifacts/screenshots/signin-*.
"""

from __future__ import annotations

import pytest

from core.tracking import trackio_project
from tests.browser import app_errors, chromium_page, open_tab, shot, wait_for
from tests.fake_hub import FakeHubAPI
from tests.signed_in import ANN, ANN_RUN, MOCK_LOGIN_TOKEN, STRANGER, STRANGER_RUN

pytestmark = pytest.mark.browser


def _dashboard_text(page) -> str:
    return page.locator("body").inner_text()


def test_sign_in_push_and_see_only_your_own_trackio_runs(signed_in_app):
    FakeHubAPI.commits.clear()
    with chromium_page() as (page, errors):
        page.goto(signed_in_app.url)
        login = page.locator("#hf-login")
        login.get_by_text("Sign in with Hugging Face").wait_for()
        open_tab(page, "5 · Try it")
        open_tab(page, "Share")
        page.locator("#share-hub-note").get_by_text("sign in with the button at the top").wait_for()
        assert page.locator("#share-token").count() == 0 or not page.locator("#share-token").is_visible()
        shot(page, "signin-01-before", "#share-hub-note")
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "signin-01-login-button", "#intro")

        login.click()  # Gradio's mocked login: back on the page, signed in as the machine's account (ann)
        login.get_by_text("ann").wait_for(timeout=30_000)
        errors.clear()  # leaving the page for the login aborted its open requests ("Connection errored out")
        open_tab(page, "5 · Try it")
        open_tab(page, "Share")
        wait_for(lambda: ANN_RUN[-8:] in page.locator("#share-run").inner_text() or page.locator(
            "#share-run input").input_value(), what="ann's run in the share picker")  # fmt: skip
        page.locator("#share-hub-note").get_by_text("Pushes as ann").wait_for()
        page.locator("#share-repo textarea").fill("ann/smollm2-json")
        page.locator("#share-push").click()
        page.locator("#share-push-note").get_by_text("Pushed").wait_for(timeout=120_000)
        assert "ann/smollm2-json" in page.locator("#share-push-note").inner_text()
        assert FakeHubAPI.commits == [("ann", "ann/smollm2-json", MOCK_LOGIN_TOKEN)]
        assert MOCK_LOGIN_TOKEN not in page.content()
        shot(page, "signin-02-pushed", "#share-hub-note")

        open_tab(page, "4 · Train")
        link = page.locator("#trackio-link a")
        assert link.get_attribute("href") == "trackio/"
        with page.context.expect_page() as opened:
            link.click()
        dashboard = opened.value
        dashboard.wait_for_load_state()
        wait_for(lambda: "ann-" in _dashboard_text(dashboard), 60, what="ann's run in her trackio dashboard")
        assert "stranger-" not in _dashboard_text(dashboard) and trackio_project(STRANGER) not in dashboard.content()
        shot(dashboard, "signin-03-own-trackio")
        assert not app_errors(errors), errors

    # Another browser, not signed in, asks for ann's project by name: the dashboard shows it nothing.
    with chromium_page() as (stranger, _):
        stranger.goto(signed_in_app.url + f"trackio/?project={trackio_project(ANN)}")
        stranger.wait_for_load_state("networkidle")
        assert "ann-" not in _dashboard_text(stranger) and STRANGER_RUN not in _dashboard_text(stranger)
        shot(stranger, "signin-04-stranger-trackio")
