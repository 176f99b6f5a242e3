"""Read one file format into rows (dicts), reporting every line it could not read.

Policy for broken lines (JSONL, CSV): the good lines load and every skipped
line is reported with its line number and reason (``ReadResult.skipped``),
so nothing disappears silently. When no line is readable, or more lines are
broken than readable, the file is refused instead: it is probably not the
format its name says.

Readers take the display ``name`` of the file (an upload keeps its original
name there) so that messages name what the user picked, not a temp path.
"""

from __future__ import annotations

import csv
import io
import json
from array import array
from dataclasses import dataclass, field
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

try:  # orjson ships with gradio and trackio; parsing a million lines is ~5x faster with it
    import orjson

    _fast_loads = orjson.loads
except ImportError:  # pragma: no cover - the plain library works too, only slower
    _fast_loads = json.loads

UTF8_BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 64 * 1024
# Magic numbers of files people upload by mistake under a text name.
_MAGIC = [
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx file is one, too)"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3", "an SQLite database"),
]


@dataclass
class ReadResult:
    """Rows read from one file, with what was skipped and why."""

    rows: list[dict]
    line_numbers: array | None = None
    """File line (1-based) where each row starts; None when rows are items of one JSON document."""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(line or item number, reason) for every line that was not loaded."""
    warnings: list[str] = field(default_factory=list)
    validation_rows: list[dict] | None = None
    """Rows of a validation split found in the same file (a JSON object with train/validation lists)."""


def describe_skipped(skipped: list[tuple[int, str]], unit: str = "line", limit: int = 5) -> str:
    """List the first few skipped lines for a message.

    >>> describe_skipped([(3, "not valid JSON"), (9, "empty")], limit=1)
    'line 3 (not valid JSON) and 1 more'
    """
    shown = ", ".join(f"{unit} {number} ({reason})" for number, reason in skipped[:limit])
    more = len(skipped) - limit
    return shown + (f" and {more:,} more" if more > 0 else "")


def sniff_binary(head: bytes, name: str) -> str | None:
    """Why ``head`` (the first bytes of a file) is not text, or None when it looks like text.

    >>> sniff_binary(b"PAR1\\x00\\x00", "x.jsonl")
    'x.jsonl is a Parquet file, not text.'
    >>> sniff_binary(b'{"a": 1}', "x.jsonl") is None
    True
    """
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"{name} is {what}, not text."
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{name} is saved as UTF-16 text. Save it again as UTF-8 (e.g. 'CSV UTF-8' in Excel)."
    if b"\x00" in head:
        return f"{name} looks like a binary file (it contains zero bytes), not text."
    return None


def _utf8_problem(data: bytes, start: int, name: str, where: str) -> str:
    bad = data[start : start + 1].hex().upper()
    return (
        f"{name}, {where}: byte 0x{bad} is not valid UTF-8 text. The file was probably saved as Windows-1252 or "
        "Latin-1 (Excel does this). Save it again as UTF-8 ('CSV UTF-8' in Excel, 'Save with encoding: UTF-8' "
        "in an editor) and load it again."
    )


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


def _refuse_if_mostly_broken(result: ReadResult, name: str, kind: str) -> ReadResult:
    if not result.rows and not result.skipped:
        raise DataError(f"{name} is empty: it has no rows. Pick a {kind} file with one example per row.")
    if not result.rows or len(result.skipped) > len(result.rows):
        raise DataError(
            f"{name}: {len(result.skipped):,} lines could not be read and only {len(result.rows):,} could, so this "
            f"does not look like a valid {kind} file. First problems: {describe_skipped(result.skipped)}. "
            "Fix those lines (or export the file again) and load it again."
        )
    if result.skipped:
        result.warnings.append(
            f"{name}: skipped {len(result.skipped):,} line(s) that could not be read: "
            f"{describe_skipped(result.skipped)}. The other {len(result.rows):,} rows loaded; fix those lines "
            "and load the file again to include them."
        )
    return result


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
    return _refuse_if_mostly_broken(result, name, "JSONL")


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
            raise DataError(_utf8_problem(data, err.start, name, f"line {line}")) from None
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


def sniff_csv_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """Guess the separator (``,`` ``;`` tab or ``|``) from the start of a CSV file.

    >>> sniff_csv_dialect("a;b\\n1;2\\n").delimiter
    ';'
    """
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        dialect = csv.excel
        if counts[best] and best != ",":
            dialect = type("Sniffed", (csv.excel,), {"delimiter": best})
        return dialect


def _header(names: list[str], warnings: list[str], name: str) -> list[str]:
    header, seen = [], set()
    for index, raw in enumerate(names, start=1):
        column = raw.strip() or f"column_{index}"
        if column in seen:
            renamed = f"{column}_{index}"
            warnings.append(f"{name}: the header names '{column}' twice; the second one is called '{renamed}'.")
            column = renamed
        seen.add(column)
        header.append(column)
    return header


def _csv_text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(_utf8_problem(data, err.start, name, f"line {line}")) from None


def read_csv(path: Path, name: str, on_bad_lines: str = "skip", limits: LoadLimits | None = None) -> ReadResult:
    """Read a CSV file with a header row; the separator is sniffed and a UTF-8 BOM is removed.

    ``limits`` are counted row by row (None: not counted).
    """
    text = _csv_text(Path(path).read_bytes(), name)
    if not text.strip():
        raise DataError(f"{name} is empty: it has no header and no rows. Pick a CSV file with a header row.")
    # csv's default cell limit is 128 KB; one long answer must not break the file (the size limit applies first).
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), sniff_csv_dialect(text[:SNIFF_BYTES]))
    result = ReadResult(rows=[], line_numbers=array("I"))
    budget = ReadBudget(name, limits)
    header = _header(next(reader), result.warnings, name)
    start = reader.line_num + 1
    for record in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        while len(record) > len(header) and not record[-1].strip():
            record = record[:-1]  # trailing separators, as spreadsheets write them
        if len(record) != len(header):
            cells = f"{len(record)} cell" + ("s" if len(record) != 1 else "")
            reason = f"it has {cells} but the header has {len(header)} columns"
            if on_bad_lines == "error":
                raise DataError(f"{name}, line {line}: {reason}. Fix that line and load the file again.", row=line)
            result.skipped.append((line, reason))
            continue
        size = sum(map(len, record))
        budget.check_row(size, f"line {line:,}")
        budget.add(size, 1, f"line {line:,}")
        result.rows.append(dict(zip(header, record, strict=True)))
        result.line_numbers.append(line)
    if not result.rows and not result.skipped:
        raise DataError(
            f"{name} has a header row ({shorten(', '.join(header), 80)}) but no data rows. "
            "Add at least one row under the header."
        )
    return _refuse_if_mostly_broken(result, name, "CSV")
