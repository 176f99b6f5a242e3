"""The one error type the data wizard raises: a sentence a beginner can act on.

Core raises, the UI shows (STYLE.md). Every message says what happened, where
(file, row, field) and what to do next.
"""

from __future__ import annotations


class DataError(ValueError):
    """The dataset can't be used as it is; the message says which file/row and what to do."""

    def __init__(
        self, message: str, *, row: int | None = None, field: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.row = row
        """1-based row number the problem is in, when there is one."""
        self.field = field
        """Name of the column or message field the problem is in, when there is one."""
        self.code = code
        """The report's problem code for a row left out on purpose (e.g. ``has_image``); None: not converted."""


def shorten(value: object, limit: int = 60) -> str:
    """A short ``repr`` of user data for an error message, so a 10 MB row never ends up in one.

    >>> shorten("abc")
    "'abc'"
    >>> shorten("x" * 100, limit=10)
    "'xxxxxxxx…"
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def type_name(value: object) -> str:
    """How a beginner would name the JSON type of ``value``.

    >>> type_name(None), type_name(3), type_name([1]), type_name({"a": 1}), type_name("s"), type_name(True)
    ('null', 'a number', 'a list', 'an object', 'text', 'true/false')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
