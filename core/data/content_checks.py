"""Checks on what the rows *say*, not on their structure: placeholders, missing questions, loops, echoes, stubs.

``validate.py`` checks that every row has the shape TRL needs; the checks here look at the text of rows that
have it. Each is a small pure function (``find_…`` returns what it found, ``is_…`` a yes/no) with doctests;
``content_findings`` runs the per-row ones on one row and ``short_answer_findings`` the one that needs the
whole dataset (an answer is only "too short" compared with the others). All of them are warnings: the row is
trained, and the report says which row to look at and what to do.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence

from core.data.formats import CONVERSATIONAL_PROMPT_COMPLETION, MESSAGES, PROMPT_COMPLETION

Finding = tuple[str, str | None, str]  # (code, field, message), as in validate.py

# Code is where braces are innocent ({} in JSON, f-strings, Jinja taught on purpose): fenced blocks and
# `inline code` are blanked out before looking for placeholders.
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)
# {{name}}, {{ author }}, {{ user.first_name }}, Go's {{.Name}}: Mustache / Jinja / Handlebars variables.
_DOUBLE_BRACES = re.compile(r"\{\{\s*\.?[A-Za-z_][\w.]*\s*\}\}")
# {name} alone, in prose: a Python str.format / LangChain prompt variable left in. Not after a letter,
# backslash, ^, _ or $ (LaTeX \frac{a}{b}, x^{2}, ${HOME}), not next to another brace, at least three letters
# (math sets like {x}); and only in text with no sign of code (see _LOOKS_LIKE_CODE).
_SINGLE_BRACE = re.compile(r"(?<![\w\\^_${}])\{([A-Za-z][A-Za-z_]{2,40})\}(?![{\w])")
_LOOKS_LIKE_CODE = re.compile(
    r"\bdef |\bprint\(|\bimport |\bfunction\b|=>|;\s*$|\.format\(|\bf[\"']|\$\{|\\[a-z]+\{|=\s*\{",
    re.M,
)
# [INSERT NAME], [insert date here], [PLACEHOLDER], [TODO], [YOUR NAME]; never a Markdown link [text](url).
_BRACKETS = re.compile(
    r"\[\s*(?:(?i:insert|placeholder|todo|tbd)\b[^\]\n]{0,80}|(?:YOUR|ENTER) [A-Z][A-Z _-]{1,40})\](?!\()"
)
# <PLACEHOLDER>, <INSERT NAME>, <YOUR_NAME>: upper case only, so HTML tags and <think> never match.
_ANGLE = re.compile(r"<\s*(?:PLACEHOLDER|INSERT\b[^>\n]{0,60}|YOUR[ _][A-Z][A-Z_ ]{1,40})\s*>")
# $VARIABLE is not checked: in real rows it is far more often a shell variable ($HOME, $HF_TOKEN), a price
# ($5) or LaTeX ($x$) than a template slot, and no pattern tells them apart reliably.


def _without_code(text: str) -> str:
    return _CODE.sub(lambda m: " " * len(m.group()), text)


def find_placeholder(text: str) -> str | None:
    """The first template placeholder left unfilled in ``text``, or None.

    >>> find_placeholder("Dear {{name}}, thanks for your order.")
    '{{name}}'
    >>> find_placeholder("Written by {{ author }}.")
    '{{ author }}'
    >>> find_placeholder("Hello {customer_name}, your parcel is on its way.")
    '{customer_name}'
    >>> find_placeholder("Signed, [INSERT NAME]"), find_placeholder("Call <PLACEHOLDER> today.")
    ('[INSERT NAME]', '<PLACEHOLDER>')

    Braces that belong to code, JSON or maths are not placeholders:

    >>> find_placeholder('{"name": "Ada", "tags": {"role": "admin"}}') is None
    True
    >>> find_placeholder("Use `{{ name }}` in the Jinja template.") is None
    True
    >>> find_placeholder("```python\\nprint(f'{name}')\\n```") is None
    True
    >>> find_placeholder('greeting = f"Hello {name}"') is None
    True
    >>> find_placeholder(r"The result is $\\frac{a}{b}$ and x^{abc}.") is None
    True
    >>> find_placeholder("See [your account](https://example.com) or the set {x}.") is None
    True
    """
    if "{" not in text and "[" not in text and "<" not in text:
        return None
    prose = _without_code(text)
    for pattern in (_DOUBLE_BRACES, _BRACKETS, _ANGLE):
        found = pattern.search(prose)
        if found:
            return found.group()
    if "{" in prose and not _LOOKS_LIKE_CODE.search(prose):
        found = _SINGLE_BRACE.search(prose)
        if found:
            return found.group()
    return None


def is_missing_user_turn(turns: Sequence[dict]) -> bool:
    """True when the first assistant answer has no user turn before it (e.g. system + assistant only).

    >>> is_missing_user_turn([{"role": "system", "content": "Be kind."}, {"role": "assistant", "content": "Hi!"}])
    True
    >>> is_missing_user_turn([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    False
    """
    for turn in turns:
        role = turn.get("role") if isinstance(turn, dict) else None
        if role == "user":
            return False
        if role == "assistant":
            return True
    return False


def _words(text: str) -> list[str]:
    return text.split()


# An answer is a loop when at least 60% of its 4-word sequences are copies of earlier ones. Measured on 1,121
# passages of 300 words (the Markdown docs and TRL's source in this app's environment): median 2%, p99 25%,
# highest 63% (a literal list of numbers in code); a phrase repeated hundreds of times is close to 100%, and
# 100 good words followed by a 300-word loop about 75%. Answers under 40 words are too short to judge.
REPEAT_NGRAM = 4
REPEAT_SHARE = 0.6
REPEAT_MIN_WORDS = 40


def find_repetition(text: str) -> tuple[str, int, float] | None:
    """(the repeated phrase, how often it comes back, share of repeated 4-word sequences), or None.

    >>> phrase, count, share = find_repetition("I am happy to help. " * 200)
    >>> phrase, count, round(share, 2)
    ('I am happy to help.', 200, 0.99)
    >>> find_repetition("The quick brown fox jumps over the lazy dog. " * 2) is None
    True
    >>> find_repetition(" ".join(f"word{i}" for i in range(500))) is None
    True
    """
    words = _words(text)
    if len(words) < REPEAT_MIN_WORDS:
        return None
    keys = [w.lower().strip(".,;:!?\"'()") for w in words]
    if len(set(keys)) / len(keys) > 0.5:  # a loop uses few distinct words: skip the n-gram count for prose
        return None
    grams = list(zip(*(keys[i:] for i in range(REPEAT_NGRAM)), strict=False))
    counts = Counter(grams)
    share = 1 - len(counts) / len(grams)
    if share < REPEAT_SHARE:
        return None
    top, count = counts.most_common(1)[0]
    first = grams.index(top)
    second = grams.index(top, first + 1)
    period = second - first  # the phrase is what lies between two returns of its commonest 4 words
    return " ".join(words[first : first + min(period, 20)]), count, share


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def is_echo(prompt: str, answer: str) -> bool:
    """True when the answer is the prompt again (ignoring spaces and case).

    >>> is_echo("What is 2 + 2?", "  what is 2 +  2? ")
    True
    >>> is_echo("What is 2 + 2?", "4")
    False
    """
    return bool(prompt.strip()) and _normalised(prompt) == _normalised(answer)


def _turns(row: dict, fmt: str) -> list[dict]:
    if fmt == MESSAGES:
        turns = row.get("messages")
    else:
        turns = (row.get("prompt") or []) + (row.get("completion") or [])
    return [t for t in turns or [] if isinstance(t, dict) and isinstance(t.get("content"), str)]


def _texts(row: dict, fmt: str) -> list[tuple[str, str]]:
    """(where, text) for every piece of text in a row, named as the report names them."""
    if fmt == PROMPT_COMPLETION:
        return [(key, row[key]) for key in ("prompt", "completion") if isinstance(row.get(key), str)]
    if fmt in (MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION):
        return [(f"the {t['role']} turn", t["content"]) for t in _turns(row, fmt)]
    return [("text", row["text"])] if isinstance(row.get("text"), str) else []


def _exchanges(row: dict, fmt: str) -> list[tuple[str, str]]:
    """(prompt, answer) pairs: each assistant turn with the user turn just before it."""
    if fmt == PROMPT_COMPLETION:
        if isinstance(row.get("prompt"), str) and isinstance(row.get("completion"), str):
            return [(row["prompt"], row["completion"])]
        return []
    pairs, last_user = [], None
    for turn in _turns(row, fmt):
        if turn.get("role") == "user":
            last_user = turn["content"]
        elif turn.get("role") == "assistant":
            pairs.append((last_user or "", turn["content"]))
    return pairs


def content_findings(row: dict, fmt: str) -> list[Finding]:
    """The per-row content checks on a row that passed the structural ones; warnings only.

    >>> content_findings({"messages": [{"role": "system", "content": "Hi {{name}}"},
    ...                                {"role": "assistant", "content": "Hello!"}]}, "messages")[0][0]
    'placeholder'
    >>> [code for code, _, _ in content_findings({"prompt": "Hi", "completion": "hi"}, "prompt_completion")]
    ['echo']
    """
    findings: list[Finding] = []
    for where, text in _texts(row, fmt):
        found = find_placeholder(text)
        if found:
            findings.append(
                (
                    "placeholder",
                    "content" if where.startswith("the ") else where,
                    f"{where.capitalize()} contains {found[:60]!r}, a template placeholder that was never filled "
                    "in: the model will learn to write it. Fill it in, or fix the script that made the data.",
                )
            )
            break
    if fmt in (MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION) and is_missing_user_turn(_turns(row, fmt)):
        # A warning, not an error: assistant-first chats are sometimes meant (a bot that greets first, a task
        # given only in the system prompt) and train fine; templates that insist on a user turn first are
        # caught by the template check, which leaves those rows out.
        findings.append(
            (
                "no_user_turn",
                "messages" if fmt == MESSAGES else "prompt",
                "The first answer has no user turn before it: the model learns to speak without being asked. "
                "Add the question, unless an assistant that speaks first is what you want.",
            )
        )
    for _, answer in _exchanges(row, fmt):
        repeated = find_repetition(answer)
        if repeated:
            phrase, count, share = repeated
            findings.append(
                (
                    "repetition",
                    "content",
                    f"The answer repeats itself: {phrase[:60]!r}{'…' if len(phrase) > 60 else ''} comes back "
                    f"{count:,} times ({share:.0%} of its 4-word runs are repeats), like a generation loop. "
                    "Cut the repeats or leave the row out: the model would learn to loop.",
                )
            )
            break
    for prompt, answer in _exchanges(row, fmt):
        if is_echo(prompt, answer):
            findings.append(
                (
                    "echo",
                    "content",
                    "The answer is the same text as its prompt: the model learns to repeat the question. "
                    "Put the real answer in, or leave the row out.",
                )
            )
            break
    return findings


def final_answer(row: dict, fmt: str) -> str | None:
    """The last answer of a row (what a short-answer check looks at); None for plain text.

    >>> final_answer({"prompt": [{"role": "user", "content": "Hi"}],
    ...               "completion": [{"role": "assistant", "content": " ok "}]}, "conversational_prompt_completion")
    'ok'
    """
    if fmt == PROMPT_COMPLETION:
        return row["completion"].strip() if isinstance(row.get("completion"), str) else None
    if fmt in (MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION):
        answers = [t["content"] for t in _turns(row, fmt) if t.get("role") == "assistant"]
        return answers[-1].strip() if answers else None
    return None


def _core_length(answer: str) -> int:
    return len(answer.strip(" \t\n.,;:!?\"'()[]"))


# "Very short": at most 3 characters once punctuation is stripped ("ok", "Yes.", "no", "42"). Such an answer
# is only flagged when it is unusual *in this dataset*: the median answer is at least 20 characters and 10x
# longer, and at most 10% of answers are that short. A sentiment or yes/no dataset, where one-word answers
# are the point, has a short median (or many short answers) and gets no warning at all.
SHORT_ANSWER_CHARS = 3
SHORT_MEDIAN_MIN_CHARS = 20
SHORT_MEDIAN_FACTOR = 10
SHORT_MAX_SHARE = 0.10


def find_short_answers(answers: Sequence[str | None]) -> tuple[list[int], int]:
    """(indices of answers that are very short *compared with the rest*, the median answer length in characters).

    >>> find_short_answers(["ok"] + ["Paris is the capital of France, on the Seine."] * 20)
    ([0], 45)
    >>> find_short_answers(["positive", "negative", "neutral", "ok"] * 5)[0]
    []
    """
    lengths = [len(a) for a in answers if a is not None]
    if not lengths:
        return [], 0
    median = int(statistics.median(lengths))
    short = [i for i, a in enumerate(answers) if a is not None and _core_length(a) <= SHORT_ANSWER_CHARS]
    if not short or median < SHORT_MEDIAN_MIN_CHARS or len(short) > SHORT_MAX_SHARE * len(lengths):
        return [], median
    return [i for i in short if median >= SHORT_MEDIAN_FACTOR * max(1, len(answers[i]))], median


def short_answer_findings(rows: Sequence[dict | None], fmt: str, skip: set[int]) -> dict[int, Finding]:
    """Row index -> a warning for answers far shorter than this dataset's usual answer (rows in ``skip`` ignored)."""
    answers = [None if i in skip or row is None else final_answer(row, fmt) for i, row in enumerate(rows)]
    short, median = find_short_answers(answers)
    return {
        i: (
            "short_answer",
            "content",
            f"The answer is only {answers[i]!r}, while half of this dataset's answers have {median:,} characters "
            "or more: a stub or a truncated answer? Write the full answer or leave the row out.",
        )
        for i in short
    }
