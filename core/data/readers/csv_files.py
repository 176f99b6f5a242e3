"""Read CSV (and TSV) files with a header row; the separator is sniffed, a UTF-8 BOM removed."""

from __future__ import annotations

import csv
import io
from array import array
from pathlib import Path

from core.data.errors import DataError, shorten
from core.data.limits import LoadLimits, ReadBudget
from core.data.readers import SNIFF_BYTES, ReadResult, refuse_if_mostly_broken, utf8_problem


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
        raise DataError(utf8_problem(data, err.start, name, f"line {line}")) from None


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
    return refuse_if_mostly_broken(result, name, "CSV")
