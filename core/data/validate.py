"""Check every row before training, and say which rows will be trained and why any are left out.

``check_row`` looks at one row in one of TRL's four formats and returns its
problems; ``validate_rows`` runs it on every row, adds duplicates, rows the
conversion could not handle, and (given a tokenizer) rows the chat template
rejects or that are longer than the max length. Errors leave a row out;
warnings keep it in. Nothing is dropped without a line in the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from core.data.content_checks import content_findings, short_answer_findings
from core.data.errors import shorten, type_name
from core.data.formats import CONVERSATIONAL_PROMPT_COMPLETION, MESSAGES, PROMPT_COMPLETION, TEXT
from core.data.report import ERROR, PROBLEM_KINDS, Problem, ValidationReport
from core.data.stats import TokenLengths, measure_lengths
from core.data.to_trl import KNOWN_ROLES, freeze

Finding = tuple[str, str | None, str]  # (code, field, message)


def _check_text(row: dict, key: str, label: str, allow_empty: bool = False) -> list[Finding]:
    value = row.get(key)
    if key not in row:
        return [("missing_field", key, f"There is no '{key}' field. Every row needs {label}.")]
    if not isinstance(value, str):
        return [("wrong_type", key, f"'{key}' is {type_name(value)}, not text ({shorten(value)}).")]
    if not value.strip() and not allow_empty:
        return [("empty_field", key, f"'{key}' is empty. Fill in {label} or leave this row out.")]
    return []


def _check_turn(turn: object, label: str, part: str) -> tuple[list[Finding], str | None]:
    if not isinstance(turn, dict):
        return [("wrong_type", part, f"{label} is {type_name(turn)}, not an object with a role and content.")], None
    findings: list[Finding] = []
    role = turn.get("role")
    known = None
    if role is None:
        findings.append(("missing_field", "role", f"{label} has no role. Give it one of: {', '.join(KNOWN_ROLES)}."))
    elif not isinstance(role, str):
        findings.append(("wrong_type", "role", f"{label}: the role is {type_name(role)}, not a name like 'user'."))
    elif role not in KNOWN_ROLES:
        findings.append(
            (
                "unknown_role",
                "role",
                f"{label} has the role {shorten(role, 30)}; chat templates know {', '.join(KNOWN_ROLES)}. "
                "Rename it (e.g. human -> user, gpt -> assistant).",
            )
        )
    else:
        known = role
    name = f"{label} ({role})" if known else label
    content = turn.get("content")
    if known == "assistant" and turn.get("tool_calls") and not content:
        return findings, known  # a tool call needs no text: the call is the answer (core/data/tools.py)
    if "content" not in turn:
        findings.append(("missing_field", "content", f"{name} has no content."))
    elif content is None:
        findings.append(
            ("wrong_type", "content", f"{name}: the content is null. Write the text or leave the row out.")
        )
    elif not isinstance(content, str):
        hint = " (a list of parts? join its text into one string)" if isinstance(content, list) else ""
        findings.append(("wrong_type", "content", f"{name}: the content is {type_name(content)}, not text{hint}."))
    elif not content.strip():
        findings.append(("empty_field", "content", f"{name}: the content is empty."))
    return findings, known


def _check_order(roles: list[str | None], part: str) -> list[Finding]:
    findings: list[Finding] = []
    for number, role in enumerate(roles, start=1):
        if role == "system" and number > 1:
            findings.append(
                ("role_order", "role", f"{part} turn {number} is a system message; most templates expect it first.")
            )
        if number > 1 and role and role == roles[number - 2] and role not in ("system", "tool"):
            findings.append(
                (
                    "role_order",
                    "role",
                    f"{part} turns {number - 1} and {number} are both '{role}'; some chat templates reject this.",
                )
            )
    return findings


def check_turns(turns: object, part: str = "messages", need_assistant: bool = True) -> list[Finding]:
    """Problems in a list of messages: types, roles, empty content, order, a missing answer.

    >>> check_turns([{"role": "human", "content": "Hi"}])[0][0]
    'unknown_role'
    >>> [code for code, _, _ in check_turns([{"role": "user", "content": None}])]
    ['wrong_type', 'no_assistant_turn']
    """
    if not isinstance(turns, list):
        return [("wrong_type", part, f"'{part}' is {type_name(turns)}, not a list of messages.")]
    if not turns:
        return [("missing_field", part, f"'{part}' is an empty list: there is nothing to train on.")]
    findings: list[Finding] = []
    roles = []
    for number, turn in enumerate(turns, start=1):
        turn_findings, role = _check_turn(turn, f"{part} turn {number}", part)
        findings += turn_findings
        roles.append(role)
    findings += _check_order(roles, part)
    if need_assistant and "assistant" not in roles and not any(c == "unknown_role" for c, _, _ in findings):
        findings.append(
            ("no_assistant_turn", part, f"'{part}' has no assistant turn, so there is no answer to learn.")
        )
    return findings


def check_row(row: dict | None, fmt: str) -> list[Finding]:
    """Problems of one row in one of TRL's four formats (empty list: the row is fine).

    >>> check_row({"text": ""}, "text")
    [('empty_field', 'text', "'text' is empty. Fill in the text to train on or leave this row out.")]
    >>> check_row({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}, MESSAGES)
    []
    """
    if not isinstance(row, dict):
        return [("wrong_type", None, f"The row is {type_name(row)}, not an object.")]
    if fmt == TEXT:
        return _check_text(row, "text", "the text to train on")
    if fmt == PROMPT_COMPLETION:
        return _check_text(row, "prompt", "a prompt", allow_empty=True) + _check_text(row, "completion", "an answer")
    if fmt == MESSAGES:
        findings = check_turns(row.get("messages") if "messages" in row else [], "messages")
        turns = row.get("messages")
        if isinstance(turns, list) and turns and isinstance(turns[-1], dict) and turns[-1].get("role") == "user":
            if any(isinstance(t, dict) and t.get("role") == "assistant" for t in turns):
                findings.append(
                    ("ends_with_prompt", "messages", "The last turn is from the user and has no answer after it.")
                )
        return findings
    if fmt == CONVERSATIONAL_PROMPT_COMPLETION:
        findings = check_turns(row.get("prompt"), "prompt", need_assistant=False)
        findings += check_turns(row.get("completion"), "completion")
        completion = row.get("completion")
        if isinstance(completion, list) and any(
            isinstance(t, dict) and t.get("role") != "assistant" for t in completion
        ):
            findings.append(("role_order", "completion", "The completion holds turns that are not the assistant's."))
        return findings
    return [("not_converted", None, f"'{fmt}' is not one of TRL's formats; convert the rows first.")]


def _control_tokens(tokenizer) -> re.Pattern | None:
    specials = [t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values() if t.special and t.content]
    return re.compile("|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True))) if specials else None


def _contents(row: dict, fmt: str) -> list[str]:
    turns = row.get("messages", []) if fmt == MESSAGES else row.get("prompt", []) + row.get("completion", [])
    return [t.get("content") or "" for t in turns]  # a tool call turn may have no content


def validate_rows(
    rows: Sequence[dict | None],
    fmt: str,
    *,
    failures: dict[int, str] | None = None,
    failure_codes: dict[int, str] | None = None,
    tokenizer=None,
    max_length: int | None = None,
    chat_template: str | None = None,
    assistant_only_loss: bool = False,
    line_numbers: Sequence[int] | None = None,
    lengths: TokenLengths | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ValidationReport:
    """Check every row of converted data; ``failures`` are rows the conversion left as None, with reasons
    (and ``failure_codes`` the problem code of those it left out on purpose, e.g. ``has_media``).

    With a ``tokenizer``, rows are also rendered through the chat template
    (rows it rejects are left out) and measured; with ``max_length`` too,
    over-long rows are flagged as truncated, and prompt-completion rows whose
    prompt alone fills ``max_length`` as dropped (what TRL 1.16 does).
    The measured lengths are kept on the report (``report.lengths``) for the
    length statistics, so nothing is tokenized twice. Pass them back as
    ``lengths`` to check the same rows at another ``max_length`` without
    tokenizing again (they must come from ``measure_lengths`` on these rows). ``checkpoint`` is called every
    few thousand rows and raises to stop the work (core/data/heavy_work.py).
    """
    failures = failures or {}
    problems: list[Problem] = []
    bad: set[int] = set()

    def add(index: int, code: str, field: str | None, message: str) -> None:
        line = line_numbers[index] if line_numbers is not None and line_numbers[index] != index + 1 else None
        problems.append(Problem(index + 1, code, PROBLEM_KINDS[code][1], message, field, line))
        if PROBLEM_KINDS[code][1] == ERROR:
            bad.add(index)

    seen: dict[int, int] = {}  # hash of the frozen row -> first row with it (equality checked on a hit)
    control = _control_tokens(tokenizer) if tokenizer is not None and fmt != TEXT else None
    for index, row in enumerate(rows):
        if checkpoint is not None and index % 4096 == 0:
            checkpoint()
        if row is None or index in failures:
            code = (failure_codes or {}).get(index, "not_converted")
            add(index, code, None, failures.get(index, "The row could not be converted."))
            continue
        findings = check_row(row, fmt)
        for code, field, message in findings:
            add(index, code, field, message)
        if index in bad:
            continue
        key = hash(freeze(row))
        first = seen.get(key)
        if first is None:
            seen[key] = index
        elif rows[first] == row:
            add(index, "duplicate", None, f"Same as row {first + 1:,}; it will be trained twice.")
        for code, field, message in content_findings(row, fmt):
            add(index, code, field, message)
        if control is not None and fmt in (MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION):
            for content in _contents(row, fmt):
                found = control.search(content)
                if found:
                    message = (
                        f"The text contains {found.group()!r}, which the tokenizer reads as a special token, "
                        "not as text: it can break the chat structure."
                    )
                    add(index, "control_token", "content", message)
                    break
    for index, (code, field, message) in short_answer_findings(rows, fmt, bad).items():
        add(index, code, field, message)
    report = ValidationReport(n_rows=len(rows), trained=[], max_length=max_length)
    if tokenizer is not None and fmt in (TEXT, PROMPT_COMPLETION, MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION):
        if lengths is None:
            candidates = [None if i in bad else row for i, row in enumerate(rows)]
            lengths = measure_lengths(
                candidates,
                fmt,
                tokenizer,
                chat_template=chat_template,
                assistant_only_loss=assistant_only_loss,
                checkpoint=checkpoint,
            )
        for index, message in lengths.errors.items():
            add(index, "template_rejects", None, f"The chat template can't render this row: {message}")
        if max_length:
            completion_only = fmt in (PROMPT_COMPLETION, CONVERSATIONAL_PROMPT_COMPLETION) or assistant_only_loss
            for index, n in enumerate(lengths.lengths):
                if n is None or n <= max_length or index in bad:
                    continue
                prompt = lengths.prompt_lengths[index] if lengths.prompt_lengths else None
                if completion_only and prompt is not None and prompt >= max_length:
                    message = (
                        f"The prompt alone has {prompt:,} tokens, at least the max length {max_length:,}: no answer "
                        "token is left to learn, so the trainer drops the row."
                    )
                    add(index, "dropped_by_trainer", None, message)
                else:
                    message = (
                        f"{n:,} tokens, more than the max length {max_length:,}: the trainer keeps the first "
                        f"{max_length:,} and cuts the rest."
                    )
                    add(index, "too_long", None, message)
    else:
        lengths = None
    if tokenizer is None:
        report.notes.append("No model tokenizer given: the chat template and length checks were not run.")
    problems.sort(key=lambda p: p.row)
    report.problems = problems
    report.trained = [i for i in range(len(rows)) if i not in bad]
    report.lengths = lengths
    return report
