"""Quick scores for the demo tasks, to show what fine-tuning changed (before vs after).

Model answers are messy: prose around the JSON, code fences, a ``<think>``
block before the answer. The ``extract_…`` functions pull out the part that
matters and never raise on odd text; the ``score_…`` functions compare
predictions with the reference answers row by row.
"""

from __future__ import annotations

import json
import re

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)
_UNCLOSED_THINK = re.compile(r"<think>.*", re.DOTALL)
# A number: optional sign (only when it does not follow a word or digit, so "10-12" is 10 and 12), optional "$",
# digits with or without thousands commas ("1,234" but not "1,2,3"), optional decimals ("2.5"; the "." ending
# a sentence is not taken).
_NUMBER = re.compile(r"(?<![\w)])([-−])?\$?(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?")
_TOLERANCE = 1e-6


def _check_lengths(predictions: list[str], references: list[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(
            f"Got {len(predictions)} predictions but {len(references)} references; "
            "pass one prediction per reference, in the same order."
        )


def strip_thinking(text: str) -> str:
    """Drop ``<think>…</think>`` blocks; an unclosed ``<think>`` (a cut-off answer) drops everything after it.

    >>> strip_thinking("<think>3 + 4 = 7</think>The answer is 7.")
    'The answer is 7.'
    >>> strip_thinking("<think>3 + 4 = 7")
    ''
    """
    return _UNCLOSED_THINK.sub("", _THINK_BLOCK.sub("", text))


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the ``}`` closing the ``{`` at ``start`` (braces inside strings ignored); None if unclosed."""
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def extract_json_object(text: str) -> dict | None:
    """The first valid top-level JSON object in a model's answer, or None.

    Prose and code fences around the object are ignored. An object nested in a
    broken or cut-off one does not count: that answer has no valid object.

    >>> extract_json_object('Sure! ```json\\n{"name": "Ada", "age": 36}\\n``` Hope this helps.')
    {'name': 'Ada', 'age': 36}
    >>> extract_json_object('{"name": "Ada", "city": {"name": "London"}') is None
    True
    """
    decoder = json.JSONDecoder()
    position = text.find("{")
    while position != -1:
        try:
            value, _ = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):  # not JSON here; RecursionError: absurdly deep nesting
            value = None
        if isinstance(value, dict):
            return value
        end = _balanced_end(text, position)
        if end is None:
            return None  # everything after this "{" sits inside an object that never closes
        position = text.find("{", end)
    return None


def _values_match(predicted: object, reference: object) -> bool:
    """Numbers match numerically, strings case-insensitively after strip; a number written as a string does not."""
    if isinstance(reference, bool) or isinstance(predicted, bool):
        return predicted is reference
    if isinstance(reference, int | float):
        return isinstance(predicted, int | float) and abs(predicted - reference) <= _TOLERANCE
    if isinstance(reference, str):
        return isinstance(predicted, str) and predicted.strip().casefold() == reference.strip().casefold()
    return predicted == reference


def score_json_extraction(predictions: list[str], references: list[str]) -> dict:
    """How well answers extract the reference JSON objects.

    Returns ``n``, ``valid_json_rate`` (an object could be found),
    ``exact_match_rate`` (same keys and every value matches) and
    ``field_accuracy`` (mean over rows of the share of reference keys whose
    value matches). Numbers compare numerically, strings case-insensitively.

    >>> score_json_extraction(['{"age": 36, "city": "london"}', "I can't."], ['{"age": 36, "city": "London"}'] * 2)
    {'n': 2, 'valid_json_rate': 0.5, 'exact_match_rate': 0.5, 'field_accuracy': 0.5}
    """
    _check_lengths(predictions, references)
    valid = exact = 0
    field_scores = 0.0
    for row, (prediction, reference_text) in enumerate(zip(predictions, references, strict=True), start=1):
        reference = extract_json_object(reference_text)
        if reference is None:
            raise ValueError(f"Reference {row} is not a JSON object, so answers can't be scored against it.")
        predicted = extract_json_object(prediction)
        if predicted is None:
            continue
        valid += 1
        matching = sum(key in predicted and _values_match(predicted[key], value) for key, value in reference.items())
        field_scores += matching / len(reference) if reference else float(not predicted)
        exact += predicted.keys() == reference.keys() and matching == len(reference)
    n = len(references)
    return {
        "n": n,
        "valid_json_rate": valid / n if n else 0.0,
        "exact_match_rate": exact / n if n else 0.0,
        "field_accuracy": field_scores / n if n else 0.0,
    }


def extract_final_number(text: str) -> float | None:
    """The last number in an answer ("1,234", "-3", "2.5" and "$12" all count), or None.

    >>> extract_final_number("3 boxes of 4 make 12, so the answer is $1,234.50.")
    1234.5
    >>> extract_final_number("No idea.") is None
    True
    """
    matches = _NUMBER.findall(text)
    if not matches:
        return None
    sign, whole, decimals = matches[-1]
    value = float(whole.replace(",", "") + decimals)
    return -value if sign else value


def score_word_problems(predictions: list[str], references: list[str]) -> dict:
    """Share of answers whose final number equals the reference's (``<think>`` blocks are ignored).

    >>> score_word_problems(["<think>6 * 7 = 42</think>The answer is 42.", "It is 41."], ["The answer is 42."] * 2)
    {'n': 2, 'answer_accuracy': 0.5}
    """
    _check_lengths(predictions, references)
    correct = 0
    for row, (prediction, reference_text) in enumerate(zip(predictions, references, strict=True), start=1):
        reference = extract_final_number(strip_thinking(reference_text))
        if reference is None:
            raise ValueError(f"Reference {row} has no number to compare answers with: {reference_text!r}.")
        predicted = extract_final_number(strip_thinking(prediction))
        correct += predicted is not None and abs(predicted - reference) <= _TOLERANCE
    n = len(references)
    return {"n": n, "answer_accuracy": correct / n if n else 0.0}
