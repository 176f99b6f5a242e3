"""Read plain-text files (``.txt``, ``.md``) as documents for language modelling: one row ``{"text": ...}`` each.

A file is cut into documents one of two ways, the user's choice (``TEXT_SPLITS``): every block of text between
blank lines is a document (``"blocks"``, the default: notes, paragraphs, a page per block), or the whole file is
one document (``"file"``: a handbook, a story). Blank lines inside a fenced Markdown code block (```` ``` ````
or ``~~~``) never end a block, so a code sample stays whole, and a Markdown heading goes with the block under
it. Training then packs the documents into blocks of tokens (core/data/documents.py).
"""

from __future__ import annotations

import re
from array import array
from pathlib import Path

from core.data.errors import DataError
from core.data.limits import LoadLimits, ReadBudget
from core.data.readers import UTF8_BOM, ReadResult, utf8_problem

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
BLOCKS, WHOLE_FILE = "blocks", "file"
TEXT_SPLITS = {BLOCKS: "one document per blank-line-separated block", WHOLE_FILE: "one document per file"}
_FENCE = re.compile(r"^\s*(```|~~~)")


def split_blocks(text: str) -> list[tuple[int, str]]:
    """(first line, block) for each block of ``text`` between blank lines; fenced code blocks stay whole.

    >>> split_blocks("One.\\n\\n\\nTwo\\nlines.\\n  \\nThree.")
    [(1, 'One.'), (4, 'Two\\nlines.'), (7, 'Three.')]
    >>> split_blocks("Intro\\n\\n```\\ncode\\n\\nmore code\\n```\\n\\nEnd")
    [(1, 'Intro'), (3, '```\\ncode\\n\\nmore code\\n```'), (9, 'End')]
    """
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start, fence = 0, None
    for number, line in enumerate(text.split("\n"), start=1):
        marker = _FENCE.match(line)
        if marker:
            fence = None if fence == marker.group(1) else (fence or marker.group(1))
        if not line.strip() and fence is None:
            if current:
                blocks.append((start, "\n".join(current).strip()))
                current = []
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        blocks.append((start, "\n".join(current).strip()))
    return _headings_joined([(line, block) for line, block in blocks if block])


def _headings_joined(blocks: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A block of Markdown headings only goes with the block after it: a title is no document on its own.

    >>> _headings_joined([(1, "# Title"), (3, "## Part"), (5, "Text.")])
    [(1, '# Title\\n\\n## Part\\n\\nText.')]
    """
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for line, block in blocks:
        if pending:
            line, block = pending[0], f"{pending[1]}\n\n{block}"
            pending = None
        if all(row.lstrip().startswith("#") for row in block.split("\n") if row.strip()):
            pending = (line, block)
            continue
        joined.append((line, block))
    return joined + ([pending] if pending else [])


def documents_from_text(text: str, split: str = BLOCKS) -> tuple[list[dict], list[int]]:
    """The ``{"text": ...}`` rows of ``text`` cut by ``split`` (``"blocks"`` or ``"file"``), with their first lines.

    >>> documents_from_text("A.\\n\\nB.", "file")
    ([{'text': 'A.\\n\\nB.'}], [1])
    >>> documents_from_text("A.\\n\\nB.")[0]
    [{'text': 'A.'}, {'text': 'B.'}]
    """
    if split not in TEXT_SPLITS:
        raise DataError(f"'{split}' is not a way to cut text into documents; use one of {', '.join(TEXT_SPLITS)}.")
    if split == WHOLE_FILE:
        stripped = text.strip()
        return ([{"text": stripped}], [1]) if stripped else ([], [])
    blocks = split_blocks(text)
    return [{"text": block} for _, block in blocks], [line for line, _ in blocks]


def decode_text(data: bytes, name: str) -> str:
    """The text of a file's bytes (UTF-8, a BOM removed, Windows line ends made plain), or a DataError naming it."""
    try:
        text = data.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(utf8_problem(data, err.start, name, f"line {line}")) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def empty_text_message(name: str) -> str:
    return (
        f"{name} is empty: there is no text in it to train on. Pick a .txt or .md file with your documents, "
        "separated by blank lines."
    )


def read_text(path: Path, name: str, split: str = BLOCKS, limits: LoadLimits | None = None) -> ReadResult:
    """Read a plain-text file as documents (``split``: ``"blocks"`` or ``"file"``), counted against ``limits``."""
    text = decode_text(Path(path).read_bytes(), name)
    rows, lines = documents_from_text(text, split)
    if not rows:
        raise DataError(empty_text_message(name))
    budget = ReadBudget(name, limits)
    for row, line in zip(rows, lines, strict=True):
        where = f"the document at line {line:,}"
        budget.check_row(len(row["text"]), where)
        budget.add(len(row["text"]), 1, where)
    return ReadResult(rows=rows, line_numbers=array("I", lines))
