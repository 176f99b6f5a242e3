"""Load a dataset from a file, a local folder, a built-in demo or the Hugging Face Hub.

Everything ends up as a ``LoadedData``: the rows (a list of dicts, or a
``datasets.Dataset`` for Hub data), a one-line description of the source, the
columns, and warnings for anything that was not loaded exactly as it is
(skipped lines, a JSON wrapper that was unwrapped). ``preview_rows`` reads only
the first rows of a file, however large it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from core.data.documents import as_text_documents
from core.data.errors import DataError, shorten
from core.data.limits import MAX_COLUMNS, LoadLimits, TooDeeplyNested
from core.data.loaded import LoadedData
from core.data.parquet import read_parquet
from core.data.readers import SNIFF_BYTES, UTF8_BOM, ReadResult, sniff_binary
from core.data.readers.csv_files import read_csv, sniff_csv_dialect
from core.data.readers.json_files import parse_json_line, read_json, read_jsonl
from core.data.readers.text_files import BLOCKS, TEXT_SUFFIXES, documents_from_text, empty_text_message, read_text

# Default upload limit: large enough for ~100k chat examples, small enough that a slip of the finger
# (a video, a model file) is refused before it fills the server's memory.
DEFAULT_MAX_UPLOAD_MB = 200
SUPPORTED_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", *TEXT_SUFFIXES)
_SUFFIX_KIND = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    **dict.fromkeys(TEXT_SUFFIXES, "text"),
}


def max_upload_mb() -> float:
    """The upload size limit in MB: ``SFT_COACH_MAX_UPLOAD_MB`` or 200."""
    raw = os.environ.get("SFT_COACH_MAX_UPLOAD_MB", "").strip()
    try:
        return float(raw) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        return DEFAULT_MAX_UPLOAD_MB


def check_file_size(path: str | Path, name: str | None = None, limit_mb: float | None = None) -> None:
    """Raise a DataError when the file is larger than the upload limit."""
    path = Path(path)
    limit = max_upload_mb() if limit_mb is None else limit_mb
    size = path.stat().st_size
    if size > limit * 1024 * 1024:
        raise DataError(
            f"{name or path.name} is {size / 1024 / 1024:,.0f} MB, above this app's limit of {limit:,.0f} MB. "
            "Load a smaller sample, put the data on the Hugging Face Hub and load it by name, "
            "or raise the limit with the environment variable SFT_COACH_MAX_UPLOAD_MB."
        )


def _columns(rows: Sequence[dict], limit: int = 1000) -> list[str]:
    seen: dict[str, None] = {}
    for index in range(min(len(rows), limit)):
        row = rows[index]
        if isinstance(row, dict):
            seen.update(dict.fromkeys(row))
    return list(seen)


def _file_kind(name: str, head: bytes) -> str:
    problem = sniff_binary(head, name)
    if head.startswith(b"PAR1"):
        return "parquet"  # a Parquet file under another name: read it for what it is (a warning says so)
    if problem:
        raise DataError(f"{problem} Upload a JSONL, JSON, CSV or Parquet file, or plain text (.txt, .md).")
    kind = _SUFFIX_KIND.get(Path(name).suffix.lower(), "sniff")
    stripped = head.removeprefix(UTF8_BOM).lstrip()
    if kind == "text" and Path(name).suffix.lower() == ".txt":
        return _json_in_text(stripped) or "text"  # JSON Lines saved as .txt are read as what they are
    if kind != "sniff":
        return kind
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    return "csv"


def _json_in_text(head: bytes) -> str | None:
    """ "jsonl" or "json" when the start of a .txt file is JSON objects, else None (it is plain text).

    >>> _json_in_text(b'{"text": "a"}'), _json_in_text(b"[Chapter 1] It was a dark night.")
    ('jsonl', None)
    """
    if head.startswith(b"[") and head[1:].lstrip().startswith(b"{"):
        return "json"
    try:
        return "jsonl" if isinstance(parse_json_line(head.split(b"\n", 1)[0]), dict) else None
    except ValueError:
        return None


def _result_to_loaded(result: ReadResult, source: str, name: str, text_split: str = "") -> LoadedData:
    line_numbers = result.line_numbers
    if line_numbers is not None and all(n == i + 1 for i, n in enumerate(line_numbers)):
        line_numbers = None  # row N is line N: nothing worth saying
    columns = _columns(result.rows)
    if len(columns) > MAX_COLUMNS:
        raise DataError(
            f"{name} has {len(columns):,} different columns (field names) in its first rows, above this app's "
            f"limit of {MAX_COLUMNS:,}. A dataset for fine-tuning has a few: text, or messages, or a prompt and an "
            "answer. Keep only the columns you train on and load the file again."
        )
    return LoadedData(
        rows=result.rows,
        source=source,
        columns=columns,
        warnings=list(result.warnings),
        line_numbers=line_numbers,
        validation_rows=result.validation_rows,
        skipped=list(result.skipped),
        text_split=text_split,
    )


def load_file(
    path: str | Path,
    name: str | None = None,
    *,
    on_bad_lines: str = "skip",
    limit_mb: float | None = None,
    origin: str = "file",
    limits: LoadLimits | None = None,
    text_split: str = BLOCKS,
) -> LoadedData:
    """Load a JSONL, JSON, CSV, Parquet or plain-text file; ``name`` is how to call it in messages (the upload's name).

    Plain text (.txt, .md) becomes documents, one per blank-line block or one per file (``text_split``); rows
    of a single ``content``/``document`` column become ``text`` documents too (core/data/documents.py).

    Broken JSONL/CSV lines are skipped and listed in ``warnings`` and ``skipped``
    (``on_bad_lines="error"`` refuses the file instead). The file is read under ``limits`` (default: the
    limits in effect, ``LoadLimits.from_env()``): too many rows, too much memory, one row too big or nested
    too deeply, and it is refused with a sentence as soon as the reader sees it.
    """
    path = Path(path).expanduser()
    name = name or path.name
    if not path.is_file():
        raise DataError(f"{name} does not exist or is not a file. Check the path and try again.")
    check_file_size(path, name, limit_mb)
    with path.open("rb") as handle:
        head = handle.read(8192)
    kind = _file_kind(name, head)
    if not head.strip() and kind == "text":
        raise DataError(empty_text_message(name))
    if not head.strip():
        raise DataError(f"{name} is empty: it has no rows. Pick a file with your examples.")
    limits = LoadLimits.from_env() if limits is None else limits
    if kind == "text":
        result = read_text(path, name, text_split, limits)
        return _result_to_loaded(result, f"{name} ({origin}, {result_size(path)})", name, text_split)
    if kind == "parquet":
        result = read_parquet(path, name, limits)
        if Path(name).suffix.lower() != ".parquet":
            result.warnings.append(f"{name} is a Parquet file despite its name; read it as Parquet.")
    elif kind == "jsonl":
        result = read_jsonl(path, name, on_bad_lines, limits)
    elif kind == "json":
        result = read_json(path, name, on_bad_lines, limits)
    else:
        result = read_csv(path, name, on_bad_lines, limits)
    result.rows, renamed = as_text_documents(result.rows, name)
    result.warnings += [renamed] if renamed else []
    return _result_to_loaded(result, f"{name} ({origin}, {result_size(path)})", name)


def result_size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024 / 1024:,.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:,.1f} KB"


_TRAIN_NAMES = ("train", "training")
_VALIDATION_NAMES = ("validation", "valid", "val", "dev", "test", "eval")


def _split_file(folder: Path, stems: tuple[str, ...]) -> Path | None:
    for stem in stems:
        for suffix in SUPPORTED_SUFFIXES:
            if (folder / f"{stem}{suffix}").is_file():
                return folder / f"{stem}{suffix}"
    return None


def load_path(path: str | Path, *, on_bad_lines: str = "skip") -> LoadedData:
    """Load a local file, or a folder holding ``train.*`` (and optionally ``validation.*``/``test.*``)."""
    folder = Path(path).expanduser()
    if folder.is_file():
        return load_file(folder, on_bad_lines=on_bad_lines, origin="local file")
    if not folder.is_dir():
        raise DataError(f"'{path}' is not an existing file or folder on this machine. Check the path.")
    train = _split_file(folder, _TRAIN_NAMES)
    if train is None:
        raise DataError(
            f"The folder {folder} has no train file. Put your rows in train.jsonl (or .json, .csv, .parquet), "
            "optionally with validation.jsonl next to it, or pick the file itself."
        )
    loaded = load_file(train, on_bad_lines=on_bad_lines, origin="local folder")
    validation = _split_file(folder, _VALIDATION_NAMES)
    if validation is None:
        return loaded
    held_out = load_file(validation, on_bad_lines=on_bad_lines, origin="local folder")
    return LoadedData(
        rows=loaded.rows,
        source=f"{folder.name}/: {train.name} + {validation.name} as validation",
        columns=loaded.columns,
        warnings=loaded.warnings + held_out.warnings,
        line_numbers=loaded.line_numbers,
        validation_rows=held_out.rows,
        skipped=loaded.skipped,
    )


def load_demo(name: str, seed: int = 0, n_train: int = 1000, n_test: int = 100) -> LoadedData:
    """A built-in demo's rows as the user would bring them (raw columns stay raw), with its test split."""
    from core.demo_data import DEMO_DATASETS, generate_demo

    if name not in DEMO_DATASETS:
        raise DataError(f"There is no built-in demo called '{name}'. Pick one of: {', '.join(DEMO_DATASETS)}.")
    splits = generate_demo(name, seed=seed, n_train=n_train, n_test=n_test)
    return LoadedData(
        rows=splits["train"],
        source=f"Built-in demo: {DEMO_DATASETS[name].title}",
        columns=_columns(splits["train"]),
        validation_rows=splits["test"] or None,
    )


def load_source(
    source: str, *, config: str | None = None, split: str = "train", on_bad_lines: str = "skip"
) -> LoadedData:
    """Load whatever the user typed: a demo name, a local path, or a Hub dataset id ("owner/name")."""
    from core.demo_data import DEMO_DATASETS

    source = (source or "").strip()
    if not source:
        raise DataError("No dataset chosen. Pick a built-in demo, upload a file, or type a Hub dataset id.")
    if source in DEMO_DATASETS:
        return load_demo(source)
    if Path(source).expanduser().exists() or source.startswith(("/", ".", "~")):
        return load_path(source, on_bad_lines=on_bad_lines)
    from core.data.from_hub import load_hub

    return load_hub(source, config=config, split=split)


def _preview_jsonl(path: Path, n: int) -> list[dict]:
    rows: list[dict] = []
    if n <= 0:
        return rows
    too_big = LoadLimits.from_env().max_row_mb * 1024 * 1024
    with path.open("rb") as handle:
        for raw in handle:
            if too_big and len(raw) > too_big:
                continue  # never parsed here; the full load refuses it with its line number
            if raw.strip():
                try:
                    value = parse_json_line(raw.removeprefix(UTF8_BOM))
                except ValueError:
                    continue  # the full load reports it with its line number
                if isinstance(value, dict):
                    rows.append(value)
                    if len(rows) >= n:
                        break  # checked after appending, so the line after the last one shown is never read
    return rows


def _preview_json_list(path: Path, name: str, n: int, chunk: int = 1 << 20) -> list[dict]:
    """Decode the first ``n`` items of a JSON list, reading only as much of the file as they need."""
    decoder = json.JSONDecoder()
    rows: list[dict] = []
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        buffer, pos = handle.read(chunk), 0
        pos = buffer.index("[") + 1
        while len(rows) < n:
            while pos < len(buffer) and buffer[pos] in " \t\r\n,":
                pos += 1
            if pos < len(buffer) and buffer[pos] == "]":
                break
            try:
                value, pos = decoder.raw_decode(buffer, pos)
            except RecursionError:
                raise DataError(f"{name}, item {len(rows) + 1}: {TooDeeplyNested()}.") from None
            except json.JSONDecodeError:
                more = handle.read(max(chunk, len(buffer)))  # doubling: a 10 MB item costs a few reads, not 10
                if not more:
                    raise DataError(f"{name}: not valid JSON near item {len(rows) + 1}.") from None
                buffer, pos = buffer[pos:] + more, 0
                continue
            if isinstance(value, dict):
                rows.append(value)
    return rows


def _preview_csv(path: Path, n: int) -> list[dict]:
    import csv

    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        dialect = sniff_csv_dialect(handle.read(SNIFF_BYTES))
        handle.seek(0)
        csv.field_size_limit(max(csv.field_size_limit(), path.stat().st_size + 1))
        reader = csv.reader(handle, dialect)
        header = [h.strip() or f"column_{i}" for i, h in enumerate(next(reader, []), start=1)]
        rows: list[dict] = []
        for record in reader:
            if len(rows) >= n:
                break
            if any(cell.strip() for cell in record):
                rows.append(dict(zip(header, record, strict=False)))
                if len(rows) >= n:
                    break
    return rows


def preview_rows(path: str | Path, n: int = 5, name: str | None = None) -> list[dict]:
    """The first ``n`` rows of a file, reading only the start of it (a 1 GB file shows 5 rows at once).

    Unreadable lines are passed over here; ``load_file`` reports them by number.
    """
    path = Path(path).expanduser()
    name = name or path.name
    if not path.is_file():
        raise DataError(f"{name} does not exist or is not a file.")
    with path.open("rb") as handle:
        head = handle.read(8192)
    if not head.strip():
        raise DataError(f"{name} is empty: it has no rows.")
    kind = _file_kind(name, head)
    if kind == "text":
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            return documents_from_text(handle.read(1 << 20))[0][:n]  # the first MB holds the first documents
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            batch = next(pq.ParquetFile(path).iter_batches(batch_size=n), None)
        except Exception as err:  # damaged file: several pyarrow error types
            raise DataError(f"{name} is not a readable Parquet file ({shorten(str(err), 120)}).") from None
        return batch.to_pylist()[:n] if batch is not None else []
    if kind == "jsonl":
        return _preview_jsonl(path, n)
    if kind == "json":
        if head.removeprefix(UTF8_BOM).lstrip().startswith(b"["):
            return _preview_json_list(path, name, n)
        if len(_preview_jsonl(path, 2)) == 2:
            return _preview_jsonl(path, n)  # a .json file holding JSON Lines
        return list(load_file(path, name).rows[:n])  # one wrapper object: it has to be parsed whole
    return _preview_csv(path, n)


def loaded_from_rows(rows: list[dict], source: str, warnings: list[str] | None = None) -> LoadedData:
    """Wrap rows already in memory (e.g. typed in a table) as ``LoadedData``."""
    bad = [i for i, row in enumerate(rows, start=1) if not isinstance(row, dict)]
    if bad:
        raise DataError(f"{source}: row {bad[0]} is not an object with named fields.", row=bad[0])
    return LoadedData(rows=rows, source=source, columns=_columns(rows), warnings=list(warnings or []))


__all__ = [
    "LoadedData",
    "check_file_size",
    "load_demo",
    "load_file",
    "load_path",
    "load_source",
    "loaded_from_rows",
    "max_upload_mb",
    "preview_rows",
]
