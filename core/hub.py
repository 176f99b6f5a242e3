"""The one door to the Hugging Face Hub: may it be reached, which token, which repo id, what a failure means.

Every part of the app that talks to the Hub (sharing a run, submitting a Job, pushing or loading a dataset,
checking a model) asks here, so the rules agree:

- **Offline** is one rule: ``HF_HUB_OFFLINE`` (and, for datasets, ``HF_DATASETS_OFFLINE``) set to one of
  the values ``huggingface_hub`` itself reads as true (``1``, ``ON``, ``YES``, ``TRUE``, any case), read at
  each call so a changed environment counts.
- **The token** is the one the page's event hands over: with Hugging Face sign-in on (a Space with
  ``hf_oauth: true``), the signed-in person's own OAuth token, read from the server-side session of that
  request (ui/identity.py ``hub_token``); elsewhere the one typed into the page. Without one, a local run
  falls back to ``huggingface_hub.get_token()``: ``HF_TOKEN``, then the token saved by ``hf auth login``.
  With sign-in on it never does: a token saved on a Space's server is its owner's, and a visitor who has
  not signed in must not push with it. It is passed to the one call that needs it and kept nowhere.
- **Scrubbing**: any text that may reach the page or a log loses the token first.
- **Repo ids** are ``name`` or ``namespace/name`` in the Hub's own alphabet.
- **Failures** get one sentence each for 401, 403, other statuses and an unreachable Hub.

The functions answer; the callers raise their own error (``ShareError``, ``HfJobsError``, ``DataError``)
with these sentences, so each part keeps its own advice on what to do next.
"""

from __future__ import annotations

import os
import re

from core.owners import oauth_enabled

TOKEN_PAGE = "https://huggingface.co/settings/tokens"
TRUE_VALUES = ("1", "ON", "YES", "TRUE")  # huggingface_hub.constants.ENV_VARS_TRUE_VALUES
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")


def offline_reason(datasets: bool = False, environ: dict[str, str] | None = None) -> str | None:
    """Why this app must not contact the Hub (an environment variable says so), or None.

    >>> offline_reason(environ={"HF_HUB_OFFLINE": "1"})
    'HF_HUB_OFFLINE is set, so this app does not contact the Hugging Face Hub'
    >>> offline_reason(environ={"HF_HUB_OFFLINE": "0"}) is None, offline_reason(environ={}) is None
    (True, True)
    >>> offline_reason(datasets=True, environ={"HF_DATASETS_OFFLINE": "yes"})[:19]
    'HF_DATASETS_OFFLINE'
    """
    environ = os.environ if environ is None else environ
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if datasets else ("HF_HUB_OFFLINE",):
        if environ.get(variable, "").strip().upper() in TRUE_VALUES:
            return f"{variable} is set, so this app does not contact the Hugging Face Hub"
    return None


def find_token(given: str | None = None) -> str | None:
    """The token to use: the one given (signed-in or typed), else ``HF_TOKEN``, else the one saved by ``hf auth
    login``; or None. With sign-in on, only the one given: the server's own token belongs to the Space's owner."""
    if given and given.strip():
        return given.strip()
    if oauth_enabled():
        return None
    from huggingface_hub import get_token

    return get_token() or None


def missing_token_sentence(what: str, signed_in_login: bool | None = None) -> str:
    """What to do when no token was found, for ``what`` (e.g. "nothing was pushed"); ``signed_in_login``: whether
    the app offers Hugging Face sign-in (by default: whether OAuth is on here).

    >>> missing_token_sentence("nothing was pushed", signed_in_login=False)[:48]
    'No Hugging Face token found, so nothing was push'
    >>> missing_token_sentence("nothing was pushed", signed_in_login=True)[:46]
    'You are not signed in, so nothing was pushed. '
    """
    if oauth_enabled() if signed_in_login is None else signed_in_login:
        return (
            f"You are not signed in, so {what}. Sign in with Hugging Face (the button at the top of the page), "
            "then try again: the app uses your own account, and you never paste a token."
        )
    return (
        f"No Hugging Face token found, so {what}. Create a token with write access at {TOKEN_PAGE}, then paste "
        "it here, set the HF_TOKEN environment variable, or run `hf auth login` on the machine running this app."
    )


def scrub(text: str, token: str | None) -> str:
    """``text`` without the token, for anything that may be shown or logged.

    >>> scrub("401 for token hf_abc", "hf_abc")
    '401 for token [token hidden]'
    """
    return text.replace(token, "[token hidden]") if token else text


def repo_id_problem(repo_id: str, need_namespace: bool = False) -> str | None:
    """Why ``repo_id`` is not a Hub repo id ('name' or 'namespace/name'), or None when it is one.

    >>> repo_id_problem("ann/smollm2-json") is None, repo_id_problem("smollm2-json") is None
    (True, True)
    >>> repo_id_problem("ann/my model!")[:38]
    "'ann/my model!' is not a valid reposit"
    >>> repo_id_problem("smollm2-json", need_namespace=True)
    "'smollm2-json' needs your user or organisation in front: write it as your-name/repo-name."
    """
    repo_id = (repo_id or "").strip()
    example = "write it as your-name/repo-name" if need_namespace else "e.g. 'my-model' or 'your-name/my-model'"
    if not _REPO_ID.match(repo_id) or ".." in repo_id or repo_id.endswith((".git", ".")):
        return f"'{repo_id}' is not a valid repository name: use letters, digits, '-', '_' or '.'; {example}."
    if need_namespace and "/" not in repo_id:
        return f"'{repo_id}' needs your user or organisation in front: {example}."
    return None


def explain_error(err: BaseException, token: str | None, when_offline: str = "") -> str:
    """One sentence for a failed Hub call (the token never in it); ``when_offline`` says what the person keeps."""
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    if status in (401, 403) and oauth_enabled():  # the token is the person's sign-in, not one they pasted
        return (
            f"The Hugging Face Hub refused your sign-in ({status}): it may have expired, or not allow writing "
            "there. Sign out and in again with the button at the top of the page, and use a repository under "
            "your own user name or an organisation you can write to."
        )
    if status == 401:
        return (
            "The Hugging Face Hub refused the token (401 Unauthorized): it may be mistyped, expired or revoked. "
            f"Create a token with write access at {TOKEN_PAGE} and paste it again."
        )
    if status == 403:
        return (
            "The token is valid but may not write there (403 Forbidden). Use a token with write access, "
            "and a repository under your own user name or an organisation you can write to."
        )
    if status is not None:
        text = str(err).strip()
        detail = scrub(text.splitlines()[0] if text else "", token)
        return f"The Hugging Face Hub answered with an error ({status}): {detail}"
    return f"Could not reach the Hugging Face Hub ({type(err).__name__}). This machine seems to be offline. " + (
        when_offline or ""
    )
