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


# -- tool calls -------------------------------------------------------------------------------------------------
_TOOL_CALL_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": int | float,
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
}


def parse_tool_call(text: str) -> tuple[dict | None, str]:
    """The first tool call in an answer as ``{"name", "arguments"}``, or None and why there is none.

    Reads the Hermes / Qwen ``<tool_call>{json}</tool_call>`` style, a bare JSON object with a name and
    arguments (or parameters), and OpenAI's ``{"function": {"name", "arguments": "<json>"}}``.

    >>> parse_tool_call('<tool_call>\\n{"name": "now", "arguments": {"tz": "UTC"}}\\n</tool_call>')
    ({'name': 'now', 'arguments': {'tz': 'UTC'}}, '')
    >>> parse_tool_call("It is sunny.")
    (None, 'no tool call in the answer')
    """
    text = strip_thinking(text)
    block = _TOOL_CALL_BLOCK.search(text)
    found = extract_json_object(block.group(1) if block else text)
    if found is None:
        return None, "the <tool_call> holds no valid JSON object" if block else "no tool call in the answer"
    if isinstance(found.get("tool_calls"), list) and found["tool_calls"]:
        found = found["tool_calls"][0] if isinstance(found["tool_calls"][0], dict) else {}
    spec = found.get("function", found) if isinstance(found.get("function"), dict) else found
    name = spec.get("name")
    if not isinstance(name, str) or not ("arguments" in spec or "parameters" in spec):
        not_a_call = "the JSON is not a call (it needs a name and arguments)"
        return None, not_a_call if block else "no tool call in the answer"
    arguments = spec.get("arguments", spec.get("parameters"))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None, f"the arguments of '{name}' are not valid JSON"
    if not isinstance(arguments, dict):
        return None, f"the arguments of '{name}' are not a JSON object"
    return {"name": name, "arguments": arguments}, ""


def schema_problems(value: object, schema: dict, path: str = "arguments") -> list[str]:
    """Where ``value`` breaks a JSON schema: type, enum, required, properties, items, min/max (a common subset).

    >>> schema = {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}, "n": {"type": "integer"}},
    ...           "required": ["n"]}
    >>> schema_problems({"unit": "k"}, schema)
    ["arguments: 'n' is required", "arguments.unit: must be one of 'c', 'f'"]
    >>> schema_problems({"n": 3, "unit": "c"}, schema)
    []
    """
    if not isinstance(schema, dict):
        return []
    wanted = schema.get("type")
    if wanted is not None:
        names = wanted if isinstance(wanted, list) else [wanted]
        types = tuple(t for n in names if (t := _JSON_TYPES.get(n)) is not None)
        is_bool = isinstance(value, bool)
        matches = any(isinstance(value, t) and (not is_bool or t is bool) for t in types)
        if "number" in names and isinstance(value, int | float) and not is_bool:
            matches = True
        if "integer" in names and isinstance(value, float) and value.is_integer():
            matches = True
        if types and not matches:
            return [f"{path}: must be {' or '.join(names)}, not {type(value).__name__}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: must be one of {', '.join(repr(v) for v in schema['enum'])}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: must be at most {schema['maximum']}")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        problems += [f"{path}: {key!r} is required" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            if key in properties:
                problems += schema_problems(item, properties[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}: {key!r} is not a parameter")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{path}[{index}]")
    return problems


def check_tool_call(text: str, tools: list[dict]) -> tuple[dict | None, str]:
    """The call in ``text`` if it is valid for ``tools`` (declared name, arguments fit its schema), and why not.

    >>> tools = [{"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}]
    >>> check_tool_call('{"name": "later", "arguments": {}}', tools)
    (None, "calls 'later', which is not one of the tools offered (now)")
    """
    call, reason = parse_tool_call(text)
    if call is None:
        return None, reason
    specs = {t.get("function", t).get("name"): t.get("function", t) for t in tools}
    if call["name"] not in specs:
        return None, f"calls '{call['name']}', which is not one of the tools offered ({', '.join(map(str, specs))})"
    problems = schema_problems(call["arguments"], specs[call["name"]].get("parameters") or {})
    return (None, "; ".join(problems)) if problems else (call, "")


def score_tool_calls(predictions: list[str], references: list[str], tools: list) -> dict:
    """How well answers call the offered tools, against reference answers (a call, or a direct answer).

    ``tools`` is one list of tools for every row, or one list per row. Returns ``n``,
    ``valid_tool_call_rate`` (rows whose reference is a call: the answer has a call to a declared function
    whose arguments fit its schema), ``right_call_rate`` (that call also has the reference's name and
    argument values), ``direct_answer_rate`` (rows whose reference is not a call: the answer calls nothing)
    and ``reasons``, one sentence per row.

    >>> tools = [{"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}]
    >>> ref = '<tool_call>{"name": "now", "arguments": {}}</tool_call>'
    >>> score = score_tool_calls([ref, "It is noon.", "Hi!"], [ref, ref, "Hello!"], tools)
    >>> score["valid_tool_call_rate"], score["direct_answer_rate"], score["reasons"][1]
    (0.5, 1.0, 'no tool call in the answer')
    """
    _check_lengths(predictions, references)
    per_row = tools if tools and isinstance(tools[0], list) else [tools] * len(references)
    calls_expected = valid = right = direct_expected = direct = 0
    reasons = []
    for prediction, reference_text, offered in zip(predictions, references, per_row, strict=True):
        expected, _ = parse_tool_call(reference_text)
        call, reason = check_tool_call(prediction, offered)
        if expected is None:
            attempted, _ = parse_tool_call(prediction)
            direct_expected += 1
            direct += attempted is None
            reasons.append("answers directly, as expected" if attempted is None else "calls a tool where none fits")
            continue
        calls_expected += 1
        if call is None:
            reasons.append(reason)
            continue
        valid += 1
        same = call["name"] == expected["name"] and call["arguments"].keys() == expected["arguments"].keys()
        same = same and all(_values_match(call["arguments"][k], v) for k, v in expected["arguments"].items())
        right += same
        reasons.append("the expected call" if same else f"a valid call, but not the expected {expected['name']}(…)")
    return {
        "n": len(references),
        "valid_tool_call_rate": valid / calls_expected if calls_expected else 0.0,
        "right_call_rate": right / calls_expected if calls_expected else 0.0,
        "direct_answer_rate": direct / direct_expected if direct_expected else 0.0,
        "reasons": reasons,
    }
