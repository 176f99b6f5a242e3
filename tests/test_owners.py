"""Who owns a run: the Hugging Face account when logged in, else the id in a signed server-issued cookie."""

from __future__ import annotations

import pytest

from core.owners import (
    EVERYONE,
    NoOwnerError,
    new_session_cookie,
    oauth_enabled,
    owner_for,
    owns,
    require_owner,
    session_id_from_cookie,
    short_owner,
)


def test_a_logged_in_person_owns_runs_as_their_account_from_any_browser():
    assert owner_for("ann", "one-browser") == owner_for("ann", "another-browser") == "hf:ann"


def test_without_login_the_owner_is_the_cookies_session_id():
    cookie = new_session_cookie("secret")
    session_id = session_id_from_cookie(cookie, "secret")
    assert len(session_id) == 32 and owner_for(None, session_id) == session_id
    assert session_id != session_id_from_cookie(new_session_cookie("secret"), "secret")


@pytest.mark.parametrize(
    "forged",
    [
        None,
        "",
        "0123456789abcdef0123456789abcdef",  # an id with no signature
        "0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef",  # a made-up signature
        "hf:ann.whatever",
        "../../etc.passwd",
        "a.b.c",
    ],
)
def test_a_forged_or_edited_cookie_gives_no_identity(forged):
    assert session_id_from_cookie(forged, "secret") is None


def test_a_cookie_signed_with_another_secret_is_refused():
    assert session_id_from_cookie(new_session_cookie("other app"), "secret") is None


def test_a_missing_owner_never_means_everyone():
    for missing in (None, "", 0):
        with pytest.raises(NoOwnerError):
            require_owner(missing)
        with pytest.raises(NoOwnerError):
            owns(missing, "ann")
    assert owns(EVERYONE, "ann") and owns(EVERYONE, None)
    assert not owns("ann", None) and not owns("ann", "bob") and owns("ann", "ann")


def test_login_is_offered_only_where_oauth_is_configured(monkeypatch):
    monkeypatch.delenv("OAUTH_CLIENT_ID", raising=False)
    assert oauth_enabled() is False
    monkeypatch.setenv("OAUTH_CLIENT_ID", "abc")
    assert oauth_enabled() is True


def test_the_admin_sees_accounts_in_full_and_private_ids_only_as_pseudonyms():
    assert short_owner("hf:ann") == "hf:ann"
    session_id = "3f9c0a1b2c3d4e5f3f9c0a1b2c3d4e5f"
    handle = short_owner(session_id)
    assert handle.startswith("guest-") and session_id[:4] not in handle  # nothing of the id itself
    assert handle == short_owner(session_id) != short_owner("0" * 32)  # the same person, the same handle
    assert short_owner(None) == "(none)"


def test_the_space_owner_is_the_authors_account_only_where_login_is_on(monkeypatch):
    from core.owners import space_owner

    monkeypatch.setenv("SPACE_AUTHOR_NAME", "teacher")
    monkeypatch.delenv("OAUTH_CLIENT_ID", raising=False)
    assert space_owner() is None  # without login anyone could claim a name: no password-free admin
    monkeypatch.setenv("OAUTH_CLIENT_ID", "abc")
    assert space_owner() == "hf:teacher"
    monkeypatch.delenv("SPACE_AUTHOR_NAME")
    assert space_owner() is None
