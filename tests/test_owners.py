"""Who owns a run: the Hugging Face account when logged in, else the browser's private id."""

from __future__ import annotations

from core.owners import oauth_enabled, resolve_owner, short_owner


def test_a_logged_in_person_owns_runs_as_their_account_from_any_browser():
    assert resolve_owner("browser-one", "ann") == resolve_owner("browser-two", "ann") == "hf:ann"


def test_without_login_the_browser_id_is_kept_or_a_new_one_made():
    assert resolve_owner("3f9c0a1b2c3d4e5f", None) == "3f9c0a1b2c3d4e5f"
    new = resolve_owner(None, None)
    assert len(new) == 32 and new != resolve_owner(None, None)


def test_after_logout_a_browser_no_longer_acts_as_the_account():
    again = resolve_owner("hf:ann", None)
    assert not again.startswith("hf:")


def test_login_is_offered_only_where_oauth_is_configured(monkeypatch):
    monkeypatch.delenv("OAUTH_CLIENT_ID", raising=False)
    assert oauth_enabled() is False
    monkeypatch.setenv("OAUTH_CLIENT_ID", "abc")
    assert oauth_enabled() is True


def test_the_admin_sees_accounts_in_full_and_private_ids_cut_short():
    assert short_owner("hf:ann") == "hf:ann"
    assert short_owner("3f9c0a1b2c3d4e5f") == "3f9c0a…"
    assert short_owner(None) == "(none)"
