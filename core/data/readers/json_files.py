"""Read JSON Lines files (one object per line) and JSON documents (a list of objects, or an object wrapping one)."""

from __future__ import annotations

import json
from array import array
from pathlib import Path

from core.data.errors import DataError, shorten, type_name
from core.data.limits import (
    MAX_DEPTH,
    OBJECT_BYTES,
    LoadLimits,
    ReadBudget,
    TooDeeplyNested,
    measure_row,
    nesting_error,
)
from core.data.readers import UTF8_BOM, ReadResult, describe_skipped, refuse_if_mostly_broken, utf8_problem

try:  # orjson ships with gradio and trackio; parsing a million lines is ~5x faster with it
    import orjson

    _fast_loads = orjson.loads
except ImportError:  # pragma: no cover - the plain library works too, only slower
    _fast_loads = json.loads


def parse_json_line(raw: bytes, max_depth: int = MAX_DEPTH) -> object:
    """Parse one JSONL line; raise ValueError with a short reason a person can act on.

    A line nested deeper than ``max_depth`` raises ``TooDeeplyNested`` (a ValueError), never a RecursionError.

    >>> parse_json_line(b'{"a": 1}')
    {'a': 1}
    >>> parse_json_line(b'{"a": 1')
    Traceback (most recent call last):
    ...
    ValueError: not valid JSON: Expecting ',' delimiter at character 7
    """
    value = _loads_with_depth_check(raw, max_depth)
    # Brackets bound the depth from above (they also count those inside strings), so most rows skip the walk.
    if raw.count(b"{") + raw.count(b"[") > max_depth and measure_row(value, max_depth)[2] > max_depth:
        raise TooDeeplyNested(max_depth)
    return value


def _loads_with_depth_check(raw: bytes, max_depth: int) -> object:
    try:
        return _fast_loads(raw)
    except RecursionError:  # the plain json module, when orjson is missing
        raise TooDeeplyNested(max_depth) from None
    except ValueError as err:
        if "depth" in str(err):  # orjson stops at 1,024 levels: "depth limit exceeded"
            raise TooDeeplyNested(max_depth) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"byte 0x{raw[err.start : err.start + 1].hex().upper()} is not valid UTF-8") from None
    try:
        return json.loads(text)  # also accepts NaN/Infinity, which orjson refuses
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON: {err.msg} at character {err.pos}") from None
    except RecursionError:  # json recurses once per level: ~1,000 levels overflow the stack
        raise TooDeeplyNested(max_depth) from None


def _lines(handle, longest: int):
    """(line, size in bytes) for each line of a binary file; a line over ``longest`` bytes (0: no limit) is
    counted in 1 MB pieces and comes as (None, size), so it is never in memory whole."""
    while True:
        raw = handle.readline(longest + 1) if longest else handle.readline()
        if not raw:
            return
        if not longest or len(raw) <= longest:
            yield raw, len(raw)
            continue
        size = len(raw)
        while not raw.endswith(b"\n"):
            raw = handle.readline(1 << 20)
            if not raw:
                break
            size += len(raw)
        yield None, size


def read_jsonl(path: Path, name: str, on_bad_lines: str = "skip", limits: LoadLimits | None = None) -> ReadResult:
    """Read a JSON Lines file (one JSON object per line), reporting broken lines by number.

    ``on_bad_lines="error"`` refuses the whole file at the first broken line instead. ``limits`` are counted
    while reading (None: not counted); a row nested too deeply is always refused.
    """
    result = ReadResult(rows=[], line_numbers=array("I"))
    budget = ReadBudget(name, limits)
    max_depth = limits.max_depth if limits else MAX_DEPTH
    with Path(path).open("rb") as handle:
        for number, (raw, size) in enumerate(_lines(handle, budget.longest_row), start=1):
            where = f"line {number:,}"
            budget.check_row(size, where)  # a 50 MB line is refused here, never held whole nor parsed
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            if not raw.strip():
                continue
            try:
                value = parse_json_line(raw, max_depth)
                if not isinstance(value, dict):
                    raise ValueError(f"it is {type_name(value)}, not an object {{...}}")
            except TooDeeplyNested as err:
                raise nesting_error(name, where, err, number) from None
            except ValueError as err:
                if on_bad_lines == "error":
                    raise DataError(
                        f"{name}, line {number}: {err}. Fix that line and load the file again.", row=number
                    ) from None
                result.skipped.append((number, str(err)))
                continue
            budget.add(len(raw), raw.count(b"{") + raw.count(b"["), where)
            result.rows.append(value)
            result.line_numbers.append(number)
    return refuse_if_mostly_broken(result, name, "JSONL")


def _looks_like_jsonl(data: bytes) -> bool:
    lines = [line for line in data.splitlines()[:3] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(parse_json_line(line), dict) for line in lines[:2])
    except ValueError:
        return False


_SPLIT_KEYS = ("train", "validation", "valid", "val", "dev", "test", "eval")


def rows_from_json_object(obj: dict, name: str) -> ReadResult:
    """Find the rows inside a JSON object: a single wrapper key, train/validation keys, or columns of lists.

    >>> rows_from_json_object({"data": [{"text": "a"}]}, "f.json").rows
    [{'text': 'a'}]
    >>> rows_from_json_object({"text": ["a", "b"]}, "f.json").rows
    [{'text': 'a'}, {'text': 'b'}]
    """
    lists_of_rows = {k: v for k, v in obj.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)}
    if len(lists_of_rows) == 1:
        key, rows = next(iter(lists_of_rows.items()))
        return ReadResult(rows=rows, warnings=[f"{name} is a JSON object: took the {len(rows):,} rows under '{key}'."])
    split_keys = [k for k in lists_of_rows if k.lower() in _SPLIT_KEYS]
    if "train" in lists_of_rows and len(split_keys) >= 2:
        other = next(k for k in split_keys if k != "train")
        return ReadResult(
            rows=lists_of_rows["train"],
            validation_rows=lists_of_rows[other],
            warnings=[f"{name} is a JSON object: took the rows under 'train' and used '{other}' as validation."],
        )
    if lists_of_rows:
        raise DataError(
            f"{name} is a JSON object with several lists of rows ({', '.join(lists_of_rows)}); it is not clear which "
            "one to train on. Save the rows you want as a JSON list [...] or a JSONL file."
        )
    lengths = {len(v) for v in obj.values() if isinstance(v, list)}
    if obj and len(lengths) == 1 and all(isinstance(v, list) for v in obj.values()) and 0 not in lengths:
        columns = list(obj)
        rows = [dict(zip(columns, values, strict=True)) for values in zip(*obj.values(), strict=True)]
        return ReadResult(rows=rows, warnings=[f"{name} holds one list per column; read it as {len(rows):,} rows."])
    raise DataError(
        f"{name} holds a single JSON object (keys: {shorten(list(obj)[:8], 80)}), not a list of rows. "
        "A dataset needs one object per example: a JSON list [{...}, {...}] or a JSONL file with one object per "
        "line. If this object is one example, put it inside [ ]."
    )


def _count_rows(result: ReadResult, name: str, limits: LoadLimits | None) -> ReadResult:
    """Measure every row of a parsed JSON document (size, depth) and count it against ``limits``."""
    budget = ReadBudget(name, limits)
    max_depth = limits.max_depth if limits else MAX_DEPTH
    for rows in (result.rows, result.validation_rows or []):
        for number, row in enumerate(rows, start=1):
            size, objects, depth = measure_row(row, max_depth)
            where = f"item {number:,}"
            if depth > max_depth:
                raise nesting_error(name, where, TooDeeplyNested(max_depth), number)
            budget.check_row(size, where)
            budget.add(size, objects, where)
    return result


def read_json(path: Path, name: str, on_bad_lines: str = "skip", limits: LoadLimits | None = None) -> ReadResult:
    """Read a JSON document: a list of objects, or an object wrapping one (``{"data": [...]}``).

    The whole document is parsed at once, so its cost in memory is estimated from its bytes first (text plus
    one ``OBJECT_BYTES`` per ``{`` or ``[``): a file of millions of tiny objects is refused before parsing.
    """
    data = Path(path).read_bytes()
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data.strip():
        raise DataError(f"{name} is empty: it has no rows. Pick a file with a JSON list of examples.")
    if limits is not None:
        limits.check_decoded_size(name, len(data) + OBJECT_BYTES * (data.count(b"{") + data.count(b"[")))
    too_deep = nesting_error(name, "the document", TooDeeplyNested(limits.max_depth if limits else MAX_DEPTH))
    try:
        value = _fast_loads(data)
    except RecursionError:  # the plain json module, when orjson is missing
        raise too_deep from None
    except ValueError as fast_error:
        if _looks_like_jsonl(data):
            result = read_jsonl(path, name, on_bad_lines, limits)
            result.warnings.insert(0, f"{name} holds one JSON object per line (JSONL); read it that way.")
            return result
        if "depth" in str(fast_error):  # orjson stops at 1,024 levels
            raise too_deep from None
        try:
            value = json.loads(data.decode("utf-8"))
        except RecursionError:  # json recurses once per level: ~1,000 levels overflow the stack
            raise too_deep from None
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            raise DataError(utf8_problem(data, err.start, name, f"line {line}")) from None
        except json.JSONDecodeError as err:
            raise DataError(
                f"{name}, line {err.lineno}, column {err.colno}: not valid JSON ({err.msg}). "
                "Fix the file (a JSON validator shows the spot) and load it again."
            ) from None
    if isinstance(value, dict):
        return _count_rows(rows_from_json_object(value, name), name, limits)
    if not isinstance(value, list):
        raise DataError(f"{name} holds {type_name(value)}, not a list of rows. Save the examples as a JSON list.")
    result = ReadResult(rows=[])
    for number, item in enumerate(value, start=1):
        if isinstance(item, dict):
            result.rows.append(item)
        else:
            result.skipped.append((number, f"it is {type_name(item)}, not an object {{...}}"))
    if result.skipped and result.rows:
        result.warnings.append(
            f"{name}: skipped {len(result.skipped):,} list item(s) that are not objects: "
            f"{describe_skipped(result.skipped, 'item')}."
        )
    if not result.rows:
        if not value:
            raise DataError(f"{name} is an empty list: it has no rows.")
        raise DataError(
            f"{name} is a list of {type_name(value[0]).removeprefix('a ').removeprefix('an ')} values, not of "
            'objects. Each example needs named fields, e.g. {"text": "..."} or {"messages": [...]}.'
        )
    return _count_rows(result, name, limits)
