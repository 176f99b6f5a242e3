"""The launched app's admin tab in workshop mode, over the page protocol: only the admin's page reads or changes it."""

from __future__ import annotations


def test_over_the_page_protocol_only_the_admins_page_reads_or_changes_the_workshop(launch_app):
    """The launched app: a second client, forging the admin's values and page, gets nothing and changes nothing."""
    from gradio_client import Client

    from core.models.catalog import TINY_MODEL_ID
    from tests.page_client import PageClient

    app = launch_app(
        {"SFT_COACH_ADMIN_PASSWORD": "s3cret", "SFT_COACH_LOCAL_PATHS": "0"}, name="admin", tracebacks_allowed=True
    )
    run_id = Client(app.url, verbose=False).predict(TINY_MODEL_ID, "json_extraction", 2, api_name="/start_training")
    admin, stranger = PageClient(app.url).open(), PageClient(app.url).open()
    impostor = PageClient(app.url, session_hash=admin.session_hash).open()  # the admin's page, another cookie
    try:
        assert run_id in admin.call_named("open_view", {"admin-password": "s3cret"}).raw
        form = {"admin-workshop-mode": True, "admin-budget-minutes": 20, "admin-max-steps": 50, "admin-max-minutes": 5}
        assert "Saved. Workshop mode is on." in admin.call_named("save_workshop", form).raw
        settings_file = app.data_dir / "workshop" / "settings.json"
        saved = settings_file.read_text()
        forged = {**form, "admin-workshop-mode": False, "admin-target": run_id, "admin-chart-runs": [run_id]}
        for client in (stranger, impostor):
            for event in ("show", "save_workshop", "deprioritise_run", "stop_run", "draw_chart"):
                answer = client.call_named(event, forged)  # Gradio may refuse a forged choice, repeating it
                shown = str(answer.data)
                assert run_id not in shown, (event, shown[:400])
            assert "password first" in client.call_named("save_workshop", forged).raw
            assert client.call_named("show", forged).data[-3:] == [None] * 3  # the settings form stays empty
        assert settings_file.read_text() == saved
        again = admin.call_named("show", {})  # the admin's own page is still open, the settings as saved
        assert run_id in again.raw and again.data[-4:] == [True, 20, 50, 5]
    finally:
        for client in (admin, stranger, impostor):
            client.close()
