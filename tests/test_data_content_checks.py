"""Content checks (core/data/content_checks.py): what they catch, and the innocent text they must leave alone."""

from __future__ import annotations

import pytest

from core.data.content_checks import find_placeholder, find_repetition, find_short_answers, is_echo
from core.data.validate import validate_rows


@pytest.mark.parametrize(
    "text, found",
    [
        ("Hi {{name}}!", "{{name}}"),
        ("By {{ author }}.", "{{ author }}"),
        ("Hello {{ user.first_name }}", "{{ user.first_name }}"),
        ("Dear {customer}, thanks.", "{customer}"),
        ("Regards, [Insert your name here]", "[Insert your name here]"),
        ("Sign here: [YOUR NAME]", "[YOUR NAME]"),
        ("Contact <PLACEHOLDER>.", "<PLACEHOLDER>"),
        ('{"user": {"name": "Ada"}}', None),  # JSON
        ("```js\nconst s = `Hi ${name}`;\n```", None),  # code block
        ('msg = "Hi {name}".format(name=n)', None),  # code, not fenced
        (r"$\frac{a}{b} + x_{ij} + e^{i\pi}$", None),  # LaTeX
        ("The set {x} has one element.", None),  # maths
        ("Use `{{ title }}` in the template.", None),  # Jinja taught on purpose
        ("Price: $5. Run it with $HOME set.", None),  # $VARIABLE is not checked
        ("<think>\nAdd them.\n</think>\n4", None),
        ("See [your settings](https://example.com).", None),  # Markdown link
    ],
)
def test_placeholders(text, found):
    assert find_placeholder(text) == found


def test_repetition_needs_a_real_loop():
    assert find_repetition("Yes. " * 39) is None  # too short to judge
    table = "| city | country |\n|---|---|\n" + "".join(f"| city{i} | country{i} |\n" for i in range(30))
    assert find_repetition(table) is None  # a table repeats its pipes, not its content
    loop = find_repetition("Here is the plan for your trip to Rome and its museums. " + "Let me know! " * 300)
    assert loop[0] == "Let me know!" and loop[1] == 299


def test_echo_and_short_answers():
    assert not is_echo("", "")
    assert find_short_answers(["yes", "no"] * 30)[0] == []  # yes/no data: short is the norm
    many = ["ok"] * 3 + ["A full answer with a good deal of detail in it."] * 10
    assert find_short_answers(many)[0] == []  # 23% of answers are short: a pattern, not an accident


def test_warnings_keep_rows_in_and_errors_come_first():
    rows = [
        {"prompt": "Hi {{name}}", "completion": "Hi {{name}}"},
        {"prompt": "Hi", "completion": ""},
    ]
    report = validate_rows(rows, "prompt_completion")
    assert report.trained == [0]
    assert [(p.row, p.code) for p in report.problems] == [(1, "placeholder"), (1, "echo"), (2, "empty_field")]
