"""trackio per person: each owner logs to a project of their own, and their dashboard reads only that project.

Every run logs to trackio (core/trl_args.py ``report_to``), into the project ``trackio_project(owner)``: a hash
of the owner id, so a project name seen in a link or a query string gives away no session id (a private
browser's key to its runs).

The app serves trackio's own dashboard under ``/trackio/`` (ui/trackio_mount.py). trackio's dashboard has no
notion of people: any caller may read any project, log into one, upload files, rename or delete runs. So
``dashboard_decision`` lets through only what a person's dashboard needs to *read* their own project, decided
on the server for every request from who is asking (never from the page): the calls below, each naming that
person's project, and nothing that writes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

PROJECT_PREFIX = "sft-coach-"

# trackio 0.43's dashboard calls (trackio/server.py) that read one project, named by their ``project`` argument.
PROJECT_READS = frozenset(
    {
        "get_runs_for_project", "get_run_configs", "get_metrics_for_run", "get_project_summary", "get_run_summary",
        "get_metric_values", "get_logs", "get_logs_batch", "get_system_metrics_for_run", "get_system_logs",
        "get_system_logs_batch", "get_snapshot", "get_alerts", "get_tab_availability", "get_traces",
        "get_trace_steps", "get_project_files", "list_artifacts", "get_artifacts", "get_run_artifacts",
        "get_run_artifact_counts", "get_artifact_manifest", "get_artifact_lineage", "get_artifact_consumers",
    }
)  # fmt: skip
# Calls that name no project, answered by the app for this person instead of by trackio.
OWN_ANSWERS = ("get_all_projects", "get_run_mutation_status")
SETTINGS_CALL = "get_settings"  # logo, colours, plot order: the same for everyone, passed on


def trackio_project(owner: str | None) -> str:
    """The trackio project of an owner's runs: a hash of the owner id, never the id itself.

    >>> trackio_project("hf:ann") == trackio_project("hf:ann") != trackio_project("hf:bob")
    True
    >>> trackio_project("0123456789abcdef0123456789abcdef").startswith("sft-coach-")
    True
    >>> "0123456789abcdef" in trackio_project("0123456789abcdef0123456789abcdef")
    False
    """
    # A prefix of its own, so the name is not the owner's folder name (core/owners.py) either.
    digest = hashlib.sha256(b"trackio-project:" + (owner or "no-owner").encode()).hexdigest()
    return PROJECT_PREFIX + digest[:16]


@dataclass(frozen=True)
class Decision:
    """What the dashboard mount does with one API call: pass it to trackio, answer it itself, or refuse it."""

    action: str  # "pass", "answer" or "refuse"
    status: int = 200
    payload: object = None  # the JSON answer for "answer" and "refuse"


def _refuse(why: str, status: int = 403) -> Decision:
    return Decision("refuse", status, {"error": why})


def dashboard_decision(api_name: str, body: bytes, project: str, existing_projects: list[str]) -> Decision:
    """The rule for ``POST /trackio/api/<api_name>`` with ``body``, for the person whose project is ``project``.

    The dashboard sends each call's arguments as one JSON object of keyword arguments, so only that form is
    accepted: a ``project`` key that is exactly the person's own. Anything else (another project, a list of
    positional arguments, a call that writes) is refused with a sentence.

    >>> dashboard_decision("get_logs", b'{"project": "sft-coach-1", "run": "r"}', "sft-coach-1", []).action
    'pass'
    >>> dashboard_decision("get_logs", b'{"project": "sft-coach-2"}', "sft-coach-1", []).payload["error"][:31]
    'This dashboard shows only your '
    >>> dashboard_decision("get_all_projects", b"{}", "sft-coach-1", ["sft-coach-1", "sft-coach-2"]).payload
    {'data': ['sft-coach-1']}
    >>> dashboard_decision("delete_run", b'{"project": "sft-coach-1"}', "sft-coach-1", []).status
    403
    """
    if api_name == "get_all_projects":
        return Decision("answer", payload={"data": [p for p in existing_projects if p == project]})
    if api_name == "get_run_mutation_status":  # renaming or deleting runs is not offered here
        return Decision("answer", payload={"data": {"spaces": False, "allowed": False, "auth": "none"}})
    if api_name not in PROJECT_READS and api_name != SETTINGS_CALL:
        return _refuse(f"'{api_name}' is not available here: this dashboard only reads your own runs.")
    try:
        arguments = json.loads(body or b"{}")
    except ValueError:
        return _refuse("The request body is not JSON.", 400)
    if not isinstance(arguments, dict) or {"args", "kwargs", "data"} & set(arguments):
        return _refuse("Send the arguments as one JSON object of names and values.", 400)
    if api_name == SETTINGS_CALL:
        return Decision("pass")
    if arguments.get("project") != project:
        return _refuse("This dashboard shows only your own project: the runs you trained in this app.")
    return Decision("pass")
