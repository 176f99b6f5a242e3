"""Who owns a run, an upload or a vote: decided on the server for every request, never taken from the page.

Two identities, in this order:

- On a Space with Hugging Face login (``OAUTH_CLIENT_ID`` is set there), a signed-in person is
  ``hf:<username>``: the name comes from the server-side OAuth session of the request, so their runs
  follow them to any browser.
- Everyone else is the random id inside a server-issued session cookie (HttpOnly, so page scripts can't
  read it; signed with the app's secret, so a made-up or edited cookie is refused). The id is 128 random
  bits and never starts with ``hf:``, so no cookie can pose as an account.

Code that lists or touches runs takes the owner and applies the rule itself. There is no "any owner"
default: only the admin view asks for everyone's runs, by passing ``EVERYONE``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

HF_PREFIX = "hf:"
SESSION_COOKIE = "sft_coach_session"
SCRIPT_OWNER = "script"
"""Owner of runs started through the script endpoints: they reach only these, never a person's runs (no cookie
id is ever this string: those are 32 hex digits)."""


class _Everyone:
    """The admin's view of runs: every owner's, and runs with no owner. Not a string, so no request can send it."""

    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE = _Everyone()


class NoOwnerError(ValueError):
    """A call that lists or touches people's things was made without saying for whom."""


def oauth_enabled() -> bool:
    """True on a Space with Hugging Face login enabled (``hf_oauth: true`` in its README sets OAUTH_CLIENT_ID)."""
    return bool(os.environ.get("OAUTH_CLIENT_ID", "").strip())


def _signature(session_id: str, secret: str) -> str:
    return hmac.new(secret.encode(), session_id.encode(), hashlib.sha256).hexdigest()[:32]


def new_session_cookie(secret: str) -> str:
    """A fresh session cookie value: ``<random id>.<signature>``.

    >>> value = new_session_cookie("s3cret")
    >>> session_id_from_cookie(value, "s3cret") == value.split(".")[0]
    True
    """
    session_id = secrets.token_hex(16)
    return f"{session_id}.{_signature(session_id, secret)}"


def session_id_from_cookie(value: str | None, secret: str) -> str | None:
    """The session id inside a cookie this app issued, or None for a missing, edited or foreign one.

    >>> session_id_from_cookie("0123456789abcdef0123456789abcdef.forged", "s3cret") is None
    True
    >>> session_id_from_cookie("hf:ann." + _signature("hf:ann", "s3cret"), "s3cret") is None  # not an id we issue
    True
    """
    if not value or value.count(".") != 1:
        return None
    session_id, signature = value.split(".")
    if len(session_id) != 32 or any(c not in "0123456789abcdef" for c in session_id):
        return None
    return session_id if hmac.compare_digest(signature, _signature(session_id, secret)) else None


def owner_for(hf_username: str | None, session_id: str | None) -> str | None:
    """The owner of a request: the signed-in account, else the session cookie's id; None when there is neither.

    >>> owner_for("ann", "0f3a"), owner_for(None, "0f3a"), owner_for(None, None)
    ('hf:ann', '0f3a', None)
    """
    if hf_username:
        return HF_PREFIX + hf_username
    return session_id or None


def require_owner(owner: object) -> object:
    """``owner`` itself, or NoOwnerError when it is empty: a missing owner never means "everyone".

    >>> require_owner("ann"), require_owner(EVERYONE)
    ('ann', EVERYONE)
    >>> require_owner(None)
    Traceback (most recent call last):
    ...
    core.owners.NoOwnerError: No owner was given; the app decides who is asking for every request.
    """
    if owner is EVERYONE or (isinstance(owner, str) and owner):
        return owner
    raise NoOwnerError("No owner was given; the app decides who is asking for every request.")


def owns(owner: object, item_owner: str | None) -> bool:
    """Whether ``owner`` may see or touch something owned by ``item_owner`` (ownerless things: the admin only).

    >>> owns("ann", "ann"), owns("ann", "bob"), owns("ann", None), owns(EVERYONE, None)
    (True, False, False, True)
    """
    require_owner(owner)
    return owner is EVERYONE or (item_owner is not None and item_owner == owner)


def owner_folder_name(owner: str) -> str:
    """The name of an owner's folders (uploads, datasets): a hash, so the id itself, a key to their runs, stays secret.

    >>> owner_folder_name("ann") == owner_folder_name("ann") != owner_folder_name("bob")
    True
    """
    return hashlib.sha256(owner.encode()).hexdigest()[:24]


def short_owner(owner: str | None) -> str:
    """How the admin view names an owner: account names in full, a private session id as a short pseudonym.

    The pseudonym is a hash of the id, so the instructor tells participants apart without ever seeing the id
    (a key to that person's runs), and it stays the same across restarts.

    >>> short_owner("hf:ann"), short_owner("script"), short_owner(None)
    ('hf:ann', 'script', '(none)')
    >>> handle = short_owner("3f9c0a1b2c3d4e5f3f9c0a1b2c3d4e5f")
    >>> handle.startswith("guest-") and "3f9c" not in handle and len(handle) == 12
    True
    """
    if not owner:
        return "(none)"
    if owner.startswith(HF_PREFIX) or owner == SCRIPT_OWNER:
        return owner
    return "guest-" + hashlib.sha256(f"pseudonym:{owner}".encode()).hexdigest()[:6]


def space_owner() -> str | None:
    """The owner id of the Space's own account (``hf:<SPACE_AUTHOR_NAME>``) on a Space with login, else None.

    Spaces set ``SPACE_AUTHOR_NAME`` to the account (or organisation) that owns the Space; signed in as that
    account, the instructor opens the admin view without the password.
    """
    author = os.environ.get("SPACE_AUTHOR_NAME", "").strip()
    return HF_PREFIX + author if author and oauth_enabled() else None
