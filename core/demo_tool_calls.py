"""Rows of the built-in tool-calling demo: pure Python, seeded, no downloads.

Four functions with JSON schemas (weather, unit conversion, timer,
calculator). Each row offers one or two of them in a ``tools`` column and
is one of four kinds, in turn by ``position`` so every split is balanced:

- a request one tool fits, answered with one call (correct arguments; optional
  ones given only when the request names them), twice in every four rows;
- the same, followed by the tool's result and a final answer from it;
- a request no offered tool fits, answered directly (the model must learn
  not to call a tool for everything).

Rows are in TRL's conversational format with a ``tools`` column and assistant
``tool_calls`` (https://huggingface.co/docs/trl/dataset_formats); a model whose
template can't render tools gets them as text (core/data/tool_templates.py).
"""

from __future__ import annotations

import json
import random

from core.demo_generators import CITIES

DEMO_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city, e.g. Lisbon."},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert_units",
            "description": "Convert a value from one unit to another.",
            "parameters": {
                "type": "object",
                "properties": {
                    "value": {"type": "number"},
                    "from_unit": {"type": "string", "enum": ["km", "mi", "kg", "lb", "l", "gal"]},
                    "to_unit": {"type": "string", "enum": ["km", "mi", "kg", "lb", "l", "gal"]},
                },
                "required": ["value", "from_unit", "to_unit"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "set_timer",
            "description": "Start a countdown timer.",
            "parameters": {
                "type": "object",
                "properties": {
                    "minutes": {"type": "integer", "minimum": 1},
                    "label": {"type": "string", "description": "What the timer is for."},
                },
                "required": ["minutes"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "calculate",
            "description": "Evaluate an arithmetic expression.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string", "description": "e.g. 23 * 47"}},
                "required": ["expression"],
            },
        },
    },
]
_BY_NAME = {tool["function"]["name"]: tool for tool in DEMO_TOOLS}

WEATHER_ASKS = (
    "What's the weather like in {city}?", "Is it raining in {city} right now?", "How warm is it in {city} today?",
    "Check the weather in {city} for me.", "Do I need a jacket in {city}?", "Weather in {city}, please.",
)  # fmt: skip
WEATHER_UNIT_ASKS = (
    "What's the temperature in {city} in {unit}?", "Give me the weather in {city}, in {unit}.",
    "How hot is it in {city}? Answer in {unit}.",
)  # fmt: skip
CONVERT_ASKS = (
    "Convert {value} {src} to {dst}.", "How many {dst} is {value} {src}?", "What is {value} {src} in {dst}?",
    "I have {value} {src}; how much is that in {dst}?",
)  # fmt: skip
UNIT_NAMES = {"km": "kilometres", "mi": "miles", "kg": "kilograms", "lb": "pounds", "l": "litres", "gal": "gallons"}
UNIT_PAIRS = (("km", "mi", 0.621371), ("mi", "km", 1.609344), ("kg", "lb", 2.204623), ("lb", "kg", 0.453592),
              ("l", "gal", 0.264172), ("gal", "l", 3.785412))  # fmt: skip
TIMER_ASKS = (
    "Set a timer for {minutes} minutes.", "Start a {minutes}-minute timer.", "Remind me in {minutes} minutes.",
)  # fmt: skip
TIMER_LABEL_ASKS = (
    "Set a {minutes} minute timer for the {label}.", "Timer for the {label}: {minutes} minutes.",
    "Start a timer called {label} for {minutes} minutes.",
)  # fmt: skip
TIMER_LABELS = ("pasta", "laundry", "tea", "bread", "meeting", "workout", "eggs", "parking", "break", "oven")
CALC_ASKS = ("What is {expression}?", "Calculate {expression}.", "Work out {expression} for me.", "{expression} = ?")
OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
CONDITIONS = ("sunny", "cloudy", "rainy", "windy", "foggy", "snowy")
# Requests no demo tool fits, each with a rule that gives its answer (so there are plenty of distinct prompts).
WORDS = (
    "garden", "rocket", "pencil", "harbour", "lantern", "meadow", "violin", "compass", "thunder", "blanket",
    "marble", "puzzle", "orchard", "saddle", "glacier", "velvet", "bamboo", "canyon", "falcon", "window",
)  # fmt: skip
CAPITALS = {
    "France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima", "Canada": "Ottawa", "Norway": "Oslo",
    "Egypt": "Cairo", "Chile": "Santiago", "Poland": "Warsaw", "Vietnam": "Hanoi", "Ghana": "Accra",
    "Portugal": "Lisbon", "Turkey": "Ankara", "Australia": "Canberra", "Mexico": "Mexico City", "India": "New Delhi",
}  # fmt: skip


def _call(name: str, arguments: dict) -> dict:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def _weather(rng: random.Random) -> tuple[str, dict, dict, str]:
    city = rng.choice(CITIES)
    if rng.random() < 0.4:
        unit = rng.choice(("celsius", "fahrenheit"))
        ask, arguments = rng.choice(WEATHER_UNIT_ASKS).format(city=city, unit=unit), {"city": city, "unit": unit}
    else:
        unit, ask, arguments = "celsius", rng.choice(WEATHER_ASKS).format(city=city), {"city": city}
    degrees = rng.randint(-5, 32) if unit == "celsius" else rng.randint(23, 90)
    condition = rng.choice(CONDITIONS)
    result = {"temperature": degrees, "unit": unit, "conditions": condition}
    answer = f"It is {degrees}°{'C' if unit == 'celsius' else 'F'} and {condition} in {city} right now."
    return ask, _call("get_weather", arguments), result, answer


def _convert(rng: random.Random) -> tuple[str, dict, dict, str]:
    src, dst, factor = rng.choice(UNIT_PAIRS)
    value = rng.choice((rng.randint(1, 500), round(rng.uniform(0.5, 100), 1)))
    ask = rng.choice(CONVERT_ASKS).format(value=value, src=UNIT_NAMES[src], dst=UNIT_NAMES[dst])
    converted = round(value * factor, 2)
    answer = f"{value} {UNIT_NAMES[src]} is {converted} {UNIT_NAMES[dst]}."
    call = _call("convert_units", {"value": value, "from_unit": src, "to_unit": dst})
    return ask, call, {"result": converted}, answer


def _timer(rng: random.Random) -> tuple[str, dict, dict, str]:
    minutes = rng.randint(1, 90)
    if rng.random() < 0.5:
        label = rng.choice(TIMER_LABELS)
        ask, arguments = rng.choice(TIMER_LABEL_ASKS).format(minutes=minutes, label=label), {"minutes": minutes}
        arguments["label"] = label
    else:
        ask, arguments = rng.choice(TIMER_ASKS).format(minutes=minutes), {"minutes": minutes}
    result = {"status": "started", "minutes": minutes}
    return ask, _call("set_timer", arguments), result, f"Done: your {minutes}-minute timer is running."


def _calculate(rng: random.Random) -> tuple[str, dict, dict, str]:
    a, b, op = rng.randint(2, 999), rng.randint(2, 99), rng.choice(tuple(OPERATORS))
    expression = f"{a} {op} {b}"
    value = OPERATORS[op](a, b)
    ask = rng.choice(CALC_ASKS).format(expression=expression)
    return ask, _call("calculate", {"expression": expression}), {"result": value}, f"{expression} = {value}."


def _no_tool(rng: random.Random) -> tuple[str, str]:
    kind = rng.randrange(6)
    word, other = rng.sample(WORDS, 2)
    if kind == 4:  # pairs of words: enough distinct requests for a thousand rows
        longer = word if len(word) >= len(other) else other
        same = len(word) == len(other)
        answer = f"They are the same length ({len(word)} letters)." if same else f"'{longer}' is longer."
        return f"Which word is longer, '{word}' or '{other}'?", answer
    if kind == 5:
        first, second = sorted((word, other))
        return f"Put '{word}' and '{other}' in alphabetical order.", f"'{first}', then '{second}'."
    if kind == 0:
        return f"Spell '{word}' backwards.", f"'{word}' backwards is '{word[::-1]}'."
    if kind == 1:
        return f"How many letters are in the word '{word}'?", f"'{word}' has {len(word)} letters."
    if kind == 2:
        country = rng.choice(tuple(CAPITALS))
        return f"What is the capital of {country}?", f"The capital of {country} is {CAPITALS[country]}."
    return f"Write the word '{word}' in capital letters.", f"{word.upper()}"


CALL_KINDS = (_weather, _convert, _timer, _calculate)


def _offered(rng: random.Random, needed: str | None) -> list[dict]:
    """One or two of the demo tools in a random order, always with the one the request needs.

    Two at most keeps every row under 512 tokens with SmolLM2's tokenizer (the app's default max length), so
    no call is cut off at the end of a row: each tool's schema is 60-90 tokens of the system message.
    """
    others = [t for t in DEMO_TOOLS if t["function"]["name"] != needed]
    chosen = rng.sample(others, rng.randint(0, 1) if needed else rng.randint(1, 2))
    if needed:
        chosen.insert(rng.randrange(len(chosen) + 1), _BY_NAME[needed])
    return chosen


def tool_call_example(rng: random.Random, position: int = 0) -> dict:
    """One conversational row with a ``tools`` column; the kind of row follows ``position`` (see the module doc)."""
    kind = position % 4
    if kind == 3:
        ask, answer = _no_tool(rng)
        messages = [{"role": "user", "content": ask}, {"role": "assistant", "content": answer}]
        return {"messages": messages, "tools": _offered(rng, None)}
    ask, call, result, answer = rng.choice(CALL_KINDS)(rng)
    name = call["function"]["name"]
    messages = [{"role": "user", "content": ask}, {"role": "assistant", "content": "", "tool_calls": [call]}]
    if kind == 1:
        messages += [
            {"role": "tool", "name": name, "content": json.dumps(result, ensure_ascii=False)},
            {"role": "assistant", "content": answer},
        ]
    return {"messages": messages, "tools": _offered(rng, name)}
