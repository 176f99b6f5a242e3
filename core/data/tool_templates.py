"""Whether a model's chat template can render tools, and the text fallback for templates that can't.

TRL 1.16 passes a row's ``tools`` and its assistant ``tool_calls`` to the chat
template as they are (https://huggingface.co/docs/trl/sft_trainer); a template
with no tools branch drops the tool list without a word, and one that reads
``message['content']`` as text (SmolLM2's ChatML template) crashes on a call
turn, which has no content. ``renders_tools`` finds out by rendering a probe
conversation. For a template that can't, ``hermes_text_row`` writes the tools
and calls as plain text in the Hermes / Qwen style that tool-calling models
are widely trained on, so the model can still learn them:

- the tool list as JSON schemas, one per line, inside ``<tools></tools>`` in the
  system message;
- each call as ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``
  in the assistant's content;
- each result inside ``<tool_response></tool_response>`` in a ``tool`` turn.

``rows_for_template`` is the one place that decides, given the tokenizer: the
Data step's check (core/data/wizard.py) and the trainer's data preparation
(core/data/prepare.py) both call it, so the preview shows exactly the text
that is trained.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.data.tools import TOOL_ROLE

# The probe: one tool and one call with values no template would print by itself.
_PROBE_NAME = "probe_lookup_planet"
_PROBE_ARGUMENT = "zebra-7143"
_PROBE_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": _PROBE_NAME,
            "description": "Look a planet up.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        },
    }
]
_PROBE_CALL = {"type": "function", "function": {"name": _PROBE_NAME, "arguments": {"query": _PROBE_ARGUMENT}}}

TOOLS_SYSTEM_PROMPT = (
    "You may call one or more functions to help with the user's request. The functions are described as JSON "
    "schemas inside <tools></tools>:\n<tools>\n{tools}\n</tools>\n\n"
    "To call a function, answer with a JSON object holding its name and arguments inside <tool_call></tool_call> "
    'tags:\n<tool_call>\n{{"name": <function-name>, "arguments": <arguments-as-a-json-object>}}\n</tool_call>'
)
NATIVE_TOOL_MODELS = "SmolLM3 or Qwen2.5/Qwen3"


def needs_tool_template(row: object) -> bool:
    """Whether a row has a ``tools`` column or an assistant ``tool_calls``: what a template must render itself.

    A ``tool`` turn alone is text with a role, which any template writes (SmolLM2's writes any role), so it
    needs nothing; rows already in the Hermes text style (``<tool_call>`` in the content) are left as they are.

    >>> needs_tool_template({"messages": [{"role": "tool", "content": "18 C"}]})
    False
    >>> needs_tool_template({"messages": [], "tools": [{"type": "function", "function": {"name": "now"}}]})
    True
    """
    if not isinstance(row, dict):
        return False
    if row.get("tools"):
        return True
    lists = [row[key] for key in ("messages", "prompt", "completion") if isinstance(row.get(key), list)]
    return any(isinstance(turn, dict) and turn.get("tool_calls") for turns in lists for turn in turns)


def renders_tools(tokenizer) -> bool:
    """Whether the tokenizer's chat template writes a tool list and a tool call into the text.

    The tools alone must put the tool's name in the text, and the call must put its argument there;
    a template error (e.g. content that is None) counts as "can't".
    """
    user = {"role": "user", "content": "Find the planet."}
    call = {"role": "assistant", "content": "", "tool_calls": [_PROBE_CALL]}
    result = {"role": TOOL_ROLE, "name": _PROBE_NAME, "content": "Mars"}
    try:
        listed = tokenizer.apply_chat_template([user], tools=_PROBE_TOOLS, tokenize=False)
        called = tokenizer.apply_chat_template([user, call, result], tools=_PROBE_TOOLS, tokenize=False)
    except Exception:  # jinja TemplateError, TypeError on None content...: the template can't do tools
        return False
    return _PROBE_NAME in listed and _PROBE_ARGUMENT in called


def tool_call_text(call: dict) -> str:
    """One call in the Hermes / Qwen text style.

    >>> print(tool_call_text({"type": "function", "function": {"name": "now", "arguments": {"tz": "UTC"}}}))
    <tool_call>
    {"name": "now", "arguments": {"tz": "UTC"}}
    </tool_call>
    """
    spec = call.get("function", call)
    payload = {"name": spec["name"], "arguments": spec.get("arguments") or {}}
    return f"<tool_call>\n{json.dumps(payload, ensure_ascii=False)}\n</tool_call>"


def tools_system_text(tools: Sequence[dict]) -> str:
    """The system-message block that lists the tools."""
    return TOOLS_SYSTEM_PROMPT.format(tools="\n".join(json.dumps(t, ensure_ascii=False) for t in tools))


def _text_turns(turns: list, tools: Sequence[dict] | None, add_tools: bool) -> list:
    out: list = []
    if add_tools and tools:
        block = tools_system_text(tools)
        if turns and isinstance(turns[0], dict) and turns[0].get("role") == "system":
            first, turns = turns[0], turns[1:]
            out.append({"role": "system", "content": f"{first.get('content') or ''}\n\n{block}".lstrip()})
        else:
            out.append({"role": "system", "content": block})
    for turn in turns:
        if not isinstance(turn, dict):
            out.append(turn)
        elif turn.get("tool_calls"):
            calls = "\n".join(tool_call_text(c) for c in turn["tool_calls"])
            content = (turn.get("content") or "").strip()
            out.append({"role": "assistant", "content": f"{content}\n{calls}" if content else calls})
        elif turn.get("role") == TOOL_ROLE:
            content = turn.get("content") or ""
            wrapped = content.lstrip().startswith("<tool_response>")
            response = content if wrapped else f"<tool_response>\n{content}\n</tool_response>"
            # A tool turn of its own, the way Hermes 2 Pro lays results out: SmolLM2's template writes any role as
            # "<|im_start|>tool\n...", so the result stays apart from what the user said (Qwen2.5 wraps results
            # in a user turn instead, which would teach the model that the user speaks tool output). Results of
            # parallel calls share one turn, so no two tool turns follow each other.
            if out and isinstance(out[-1], dict) and out[-1].get("role") == TOOL_ROLE:
                out[-1] = {"role": TOOL_ROLE, "content": f"{out[-1]['content']}\n{response}"}
            else:
                out.append({"role": TOOL_ROLE, "content": response})
        else:
            out.append({"role": turn.get("role"), "content": turn.get("content")})
    return out


def hermes_text_row(row: dict) -> dict:
    """A tool-calling row with its tools, calls and results written as text; a new dict, no ``tools`` column.

    >>> row = {"messages": [{"role": "user", "content": "Time?"},
    ...                     {"role": "assistant", "content": "", "tool_calls": [
    ...                         {"type": "function", "function": {"name": "now", "arguments": {}}}]}],
    ...        "tools": [{"type": "function", "function": {"name": "now", "description": "", "parameters": {}}}]}
    >>> out = hermes_text_row(row)
    >>> sorted(out), [m["role"] for m in out["messages"]]
    (['messages'], ['system', 'user', 'assistant'])
    >>> out["messages"][2]["content"]
    '<tool_call>\\n{"name": "now", "arguments": {}}\\n</tool_call>'
    """
    tools = row.get("tools")
    tools = json.loads(tools) if isinstance(tools, str) else tools  # TRL accepts a JSON string there too
    out = {k: v for k, v in row.items() if k not in ("messages", "prompt", "completion", "tools")}
    if "messages" in row:
        out["messages"] = _text_turns(list(row["messages"]), tools, add_tools=True)
    if isinstance(row.get("prompt"), list):
        out["prompt"] = _text_turns(list(row["prompt"]), tools, add_tools=True)
        out["completion"] = _text_turns(list(row.get("completion") or []), None, add_tools=False)
    return out


def tools_fallback_message(model_name: str) -> str:
    """What the Data step says, before training, when the model's template can't render tools."""
    return (
        f"{model_name}'s chat template can't render tools; SFT Coach writes them as text in the Hermes/Qwen style "
        "so it can still learn them. For native tool calling pick a model whose template supports tools, e.g. "
        f"{NATIVE_TOOL_MODELS}."
    )


def rows_for_template(rows: Sequence[dict | None], tokenizer, model_name: str = "This model") -> tuple[list, str]:
    """The rows as the trainer should get them with this tokenizer, and a note for the user ("" when unchanged).

    Rows without tools, and every row when the template renders tools itself, are returned as they are;
    None entries (rows left out earlier) stay None. Rows already written as text pass unchanged, so calling
    this twice is harmless.
    """
    if not any(needs_tool_template(row) for row in rows) or renders_tools(tokenizer):
        return list(rows), ""
    converted = [hermes_text_row(row) if needs_tool_template(row) else row for row in rows]
    return converted, tools_fallback_message(model_name)


_JSON_COLUMNS = ("messages", "prompt", "completion", "tools")


def dataset_from_rows(rows: Sequence[dict]):
    """``datasets.Dataset.from_list(rows)``, except that tool rows keep their calls and schemas exactly.

    Arrow gives a column one type for all rows, so plain ``from_list`` merges every row's argument and schema
    objects into one struct: a call to ``get_weather`` would come back with ``"expression": None`` from another
    row's calculator call, and the template would print it. Tool rows' conversational columns are stored as
    JSON instead (``datasets.Json``), which gives each row back as it was.
    """
    import pyarrow as pa
    from datasets import Dataset, Features, Json, List
    from datasets.features.features import generate_from_arrow_type

    if not rows or not any(needs_tool_template(row) for row in rows):
        return Dataset.from_list(list(rows))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    values = {key: [row.get(key) for row in rows] for key in columns}
    features = Features(
        {
            key: List(Json()) if key in _JSON_COLUMNS else generate_from_arrow_type(pa.array(values[key]).type)
            for key in columns
        }
    )
    return Dataset.from_dict(values, features=features)
