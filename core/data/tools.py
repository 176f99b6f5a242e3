"""Tool-calling rows in TRL's conversational format: a ``tools`` column and assistant ``tool_calls``.

TRL 1.16's SFTTrainer passes a row's ``tools`` (a list, or a JSON string it
parses) to the chat template together with the messages, and transformers'
templates read each call as ``{"type": "function", "function": {"name": ...,
"arguments": {...}}}`` with the arguments as an object, and each result as a
``tool`` turn (TRL docs: https://huggingface.co/docs/trl/dataset_formats, and
``tokenize_fn`` in ``trl/trainer/sft_trainer.py``). Exports write the same
thing in several ways; the functions here bring each to that one shape:

- tools: OpenAI's ``{"type": "function", "function": {...}}``, the bare
  ``{"name", "description", "parameters"}`` variant, legacy ``functions``, or
  any of these as a JSON string (ShareGPT exports in the glaive, xLAM and
  Hermes function-calling shapes);
- calls: ``tool_calls`` with arguments as a JSON string or an object, legacy
  ``function_call``, or a ShareGPT ``function_call`` turn whose value is JSON;
- results: ``tool`` / ``function`` turns (``tool_call_id``, ``name`` kept) and
  ShareGPT ``observation`` / ``tool`` turns.

Each function takes one value and returns new objects (the input is never
mutated), in the style of TRL's ``data_utils.py``; broken JSON raises a
``DataError`` that names the turn and says what is wrong.
"""

from __future__ import annotations

import json

from core.data.errors import DataError, shorten, type_name

TOOL_ROLE = "tool"
# Speaker names exports use for a tool's result (Llama 3.1 calls it "ipython"; LLaMA-Factory's ShareGPT "observation").
RESULT_ROLES = ("tool", "function", "observation", "ipython", "tool_response")
CALL_ROLES = ("function_call", "tool_call", "tool_calls")  # ShareGPT turns whose value is the call's JSON


def _parse_json(value: object, what: str) -> object:
    """``value`` itself, or the JSON it holds when it is a string; a DataError naming ``what`` when it isn't JSON."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise DataError(
            f"{what} can't be read as JSON ({err.msg} at character {err.pos}: {shorten(value)}). "
            "Fix the quoting (JSON needs double quotes) or leave this row out."
        ) from None


def normalize_tool(tool: object, number: int = 1) -> dict:
    """One tool as ``{"type": "function", "function": {name, description, parameters}}``.

    >>> normalize_tool({"name": "now", "parameters": {"type": "object", "properties": {}}})["function"]
    {'name': 'now', 'description': '', 'parameters': {'type': 'object', 'properties': {}}}
    >>> normalize_tool({"type": "function", "function": {"name": "now"}})["function"]["parameters"]
    {'type': 'object', 'properties': {}}
    """
    tool = _parse_json(tool, f"Tool {number}")
    if not isinstance(tool, dict):
        raise DataError(f"Tool {number} is {type_name(tool)}, not an object with a name and parameters.")
    spec = tool.get("function", tool) if tool.get("type", "function") == "function" else tool
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"].strip():
        raise DataError(f"Tool {number} has no name. Give every tool a 'name' (and its 'parameters' schema).")
    name = spec["name"]
    empty = {"type": "object", "properties": {}}
    parameters = _parse_json(spec.get("parameters", empty), f"Tool '{name}': its schema")
    if not isinstance(parameters, dict):
        raise DataError(f"Tool '{name}': the parameters are {type_name(parameters)}, not a JSON schema object.")
    function = {"name": name, "description": spec.get("description") or "", "parameters": parameters}
    return {"type": "function", "function": function}


def row_tools(row: dict) -> list[dict] | None:
    """The tools a row declares (``tools`` or legacy ``functions``, as a list or a JSON string); None if none.

    >>> row_tools({"tools": '[{"name": "now", "description": "The time.", "parameters": {}}]'})[0]["function"]["name"]
    'now'
    >>> row_tools({"messages": []}) is None
    True
    """
    for key in ("tools", "functions"):
        value = row.get(key)
        if value in (None, "", []):
            continue
        tools = _parse_json(value, f"The '{key}' column")
        if isinstance(tools, dict):
            tools = [tools]  # a single tool written without the list around it
        if not isinstance(tools, list):
            raise DataError(f"The '{key}' column is {type_name(tools)}, not a list of tools.", field=key)
        return [normalize_tool(tool, number) for number, tool in enumerate(tools, start=1)]
    return None


def normalize_call(call: object, where: str) -> dict:
    """One call as ``{"type": "function", "function": {"name", "arguments": {...}}}``; JSON-string arguments parsed.

    >>> normalize_call({"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}, "turn 2")
    {'type': 'function', 'function': {'name': 'f', 'arguments': {'x': 1}}, 'id': 'c1'}
    >>> try:
    ...     normalize_call({"name": "f", "arguments": "{x: 1}"}, "Turn 2")
    ... except DataError as err:
    ...     print(str(err)[:60])
    Turn 2: the arguments of the call to 'f' can't be read as JS
    """
    call = _parse_json(call, f"{where}: the tool call")
    if not isinstance(call, dict):
        raise DataError(f"{where}: the tool call is {type_name(call)}, not an object with a name and arguments.")
    spec = call.get("function", call)
    name = spec.get("name") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{where}: a tool call has no function name. Give it one, or leave this row out.")
    # xLAM and Llama write "parameters" where OpenAI writes "arguments".
    raw = spec.get("arguments", spec.get("parameters", {}))
    arguments = _parse_json(raw if raw not in (None, "") else {}, f"{where}: the arguments of the call to '{name}'")
    if not isinstance(arguments, dict):
        raise DataError(
            f"{where}: the arguments of the call to '{name}' are {type_name(arguments)}, not an object of named "
            'values. Write them as a JSON object, e.g. {"city": "Paris"}.'
        )
    out = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call.get("id"):
        out["id"] = call["id"]
    return out


def is_tool_turn(turn: object, role_key: str = "role") -> bool:
    """Whether a turn is a tool call or a tool result (in OpenAI's or ShareGPT's spelling).

    >>> is_tool_turn({"from": "observation", "value": "18 C"}, "from")
    True
    >>> is_tool_turn({"role": "assistant", "content": "Hi"})
    False
    """
    if not isinstance(turn, dict):
        return False
    role = turn.get(role_key, turn.get("role"))
    role = role.strip().lower() if isinstance(role, str) else role
    return bool(turn.get("tool_calls") or turn.get("function_call")) or role in RESULT_ROLES + CALL_ROLES


def tool_turn(turn: object, role_key: str, content_key: str, number: int) -> dict | None:
    """A tool call or result turn in TRL's shape; None when ``turn`` is neither (other turns are converted as usual).

    >>> tool_turn({"from": "function_call", "value": '{"name": "now", "arguments": {}}'}, "from", "value", 2)["role"]
    'assistant'
    >>> tool_turn({"from": "function_call", "value": '{"name": "now"}'}, "from", "value", 2)["tool_calls"]
    [{'type': 'function', 'function': {'name': 'now', 'arguments': {}}}]
    >>> tool_turn({"role": "function", "name": "now", "content": "12:00"}, "role", "content", 3)
    {'role': 'tool', 'content': '12:00', 'name': 'now'}
    """
    if not is_tool_turn(turn, role_key):
        return None
    where = f"Turn {number}"
    role = turn.get(role_key, turn.get("role"))
    role = role.strip().lower() if isinstance(role, str) else role
    content = turn.get(content_key, turn.get("content"))
    if role in RESULT_ROLES:
        if isinstance(content, dict | list):
            content = json.dumps(content, ensure_ascii=False)  # a structured result: templates take text
        out = {"role": TOOL_ROLE, "content": content}
        for key in ("name", "tool_call_id"):
            if turn.get(key):
                out[key] = turn[key]
        return out
    if role in CALL_ROLES:  # ShareGPT: the value is the call (or a list of calls) as JSON
        calls = _parse_json(content, f"{where}: the '{role}' value")
        calls = calls if isinstance(calls, list) else [calls]
        text = ""
    else:
        calls = turn.get("tool_calls") or [turn["function_call"]]
        calls = _parse_json(calls, f"{where}: the tool calls")
        calls = calls if isinstance(calls, list) else [calls]
        text = content if content is not None else ""
    return {"role": "assistant", "content": text, "tool_calls": [normalize_call(c, where) for c in calls]}
