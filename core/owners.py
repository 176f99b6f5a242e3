"""Who owns a run: the Hugging Face account when the Space has login, else a private random id per browser.

On a Space with Hugging Face login (``OAUTH_CLIENT_ID`` is set there), a logged-in person's runs belong to
``hf:<username>`` and follow them to any browser. Without login, each browser keeps a random id in its
localStorage (encrypted, see ``core/paths.app_secret``). An ``hf:`` id stored by a browser is never trusted
on its own: once the person logs out, that browser gets a fresh random id and no longer sees their runs.
"""

from __future__ import annotations

import os
import secrets

HF_PREFIX = "hf:"


def oauth_enabled() -> bool:
    """True on a Space with Hugging Face login enabled (``hf_oauth: true`` in its README sets OAUTH_CLIENT_ID)."""
    return bool(os.environ.get("OAUTH_CLIENT_ID", "").strip())


def resolve_owner(stored: str | None, hf_username: str | None) -> str:
    """The owner id for this visit: ``hf:<username>`` when logged in, else the browser's own random id.

    >>> resolve_owner("0f3a", "ann")
    'hf:ann'
    >>> resolve_owner("0f3a", None)
    '0f3a'
    >>> resolve_owner("hf:ann", None) != "hf:ann"  # logged out: the account's runs stay with the account
    True
    """
    if hf_username:
        return HF_PREFIX + hf_username
    if stored and not stored.startswith(HF_PREFIX):
        return stored
    return secrets.token_hex(16)


def short_owner(owner: str | None) -> str:
    """How the admin view names an owner: account names in full, private browser ids cut short.

    >>> short_owner("hf:ann"), short_owner("3f9c0a1b2c3d4e5f"), short_owner(None)
    ('hf:ann', '3f9c0a…', '(none)')
    """
    if not owner:
        return "(none)"
    if owner.startswith(HF_PREFIX) or len(owner) <= 8:
        return owner
    return owner[:6] + "…"
