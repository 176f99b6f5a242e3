"""Message contents written as a list of parts, and the images, audio or video a row brings.

OpenAI's chat format and several trainers' exports write a message's content as parts,
``[{"type": "text", "text": "..."}, {"type": "image_url", ...}]``; some use ``value`` for the text.
SFT Coach trains text models, so: when every part is text, the parts are joined into one text (the
conversion counts them); a part that is an image, audio, video or file leaves the row out with its
reason, unless the person chose to drop the media and keep the text. The same goes for an ``images``
column: its rows are left out, or trained without the images and without the ``<image>`` placeholders
that stand for them in the text, so a stray placeholder is never learned as words.
"""

from __future__ import annotations

import re

from core.data.errors import DataError, type_name

TEXT_PART_TYPES = ("text", "input_text", "output_text")
MEDIA_COLUMNS = ("images", "image", "audios", "audio", "videos", "video")
_PLACEHOLDER = re.compile(r"[ \t]*<(?:image|audio|video)>[ \t]*\n?")
MEDIA_CODE = "has_media"
"""The report's problem code for a row left out because it brings an image, audio or video."""


def is_parts(content: object) -> bool:
    """Content written as a list of parts: objects with a ``type`` or a ``text`` (a list of bare strings is not:
    nothing says how they join, so validation asks for one text).

    >>> is_parts([{"type": "text", "text": "Hi"}]), is_parts("Hi"), is_parts([]), is_parts(["a", "b"])
    (True, False, False, False)
    """
    return (
        isinstance(content, list)
        and bool(content)
        and all(isinstance(p, dict) and ("type" in p or "text" in p) for p in content)
    )


def part_text(part: object) -> str | None:
    """The text of one part, or None when it is an image, audio, video or file.

    >>> part_text({"type": "text", "value": "Hi"}), part_text({"type": "image_url", "image_url": {"url": "x"}})
    ('Hi', None)
    """
    kind = part.get("type", "text")
    if kind in TEXT_PART_TYPES:
        text = part.get("text", part.get("value"))
        if not isinstance(text, str):
            raise DataError(f"A text part holds {type_name(text)}, not text.", field="content")
        return text
    return None


def media_kind(part: object) -> str:
    """A beginner's word for a non-text part.

    >>> media_kind({"type": "input_audio"}), media_kind({"type": "image_url"})
    ('audio', 'image')
    """
    kind = str(part.get("type", "")) if isinstance(part, dict) else ""
    return next((word for word in ("audio", "video", "file") if word in kind), "image")


def flatten_parts(content: list, drop_media: bool = False) -> str:
    """The text parts joined into one text; a media part raises, unless ``drop_media`` leaves it out.

    >>> flatten_parts([{"type": "text", "text": "Look:"}, {"type": "text", "value": "a cat"}])
    'Look:\\na cat'
    >>> flatten_parts([{"type": "image"}, {"type": "text", "text": "What is this?"}], drop_media=True)
    'What is this?'
    """
    texts, media = [], []
    for part in content:
        text = part_text(part)
        if text is None:
            media.append(media_kind(part))
        else:
            texts.append(text)
    if media and not drop_media:
        raise DataError(
            f"A message holds {'an' if media[0] in ('image', 'audio') else 'a'} {media[0]}: SFT Coach trains text "
            "models. This row is left out; to keep its text, choose to drop the images, audio and video.",
            field="content",
            code=MEDIA_CODE,
        )
    return "\n".join(t for t in texts if t.strip())


def media_columns(row: dict) -> list[str]:
    """The row's columns that hold images, audio or video (non-empty).

    >>> media_columns({"images": ["a.png"], "audio": None, "messages": []})
    ['images']
    """
    return [c for c in MEDIA_COLUMNS if row.get(c) not in (None, "", [], {})]


def strip_placeholders(text: object) -> object:
    """Text without ``<image>``-style placeholders (other values unchanged).

    >>> strip_placeholders("<image>\\nWhat is in the picture?")
    'What is in the picture?'
    """
    return _PLACEHOLDER.sub("", text).strip() if isinstance(text, str) else text


def refuse_media(row: dict) -> None:
    """Raise the 'left out: brings media' error for a row with a non-empty media column."""
    found = media_columns(row)
    if found:
        raise DataError(
            f"This row brings {found[0]} (column '{found[0]}'): SFT Coach trains text models. It is left out; "
            "to keep its text, choose to drop the images, audio and video.",
            field=found[0],
            code=MEDIA_CODE,
        )


_TURN_LISTS = ("messages", "conversations", "prompt", "completion", "chosen", "rejected")


def _text_turn(turn: object, drop_media: bool) -> tuple[object, bool]:
    """(turn with its content parts joined, whether they were); placeholders stripped when dropping media."""
    if not isinstance(turn, dict):
        return turn, False
    key = "content" if "content" in turn else "value" if "value" in turn else None
    if key is None:
        return turn, False
    content = turn[key]
    if is_parts(content):
        return {**turn, key: flatten_parts(content, drop_media)}, True
    if drop_media and isinstance(content, str):
        return {**turn, key: strip_placeholders(content)}, False
    return turn, False


def text_only(row: dict, drop_media: bool = False) -> tuple[dict, int]:
    """The row with every message's content as one text: (new row, how many messages had parts joined).

    A row that brings images, audio or video raises (``MEDIA_CODE``) unless ``drop_media``: then the media
    columns are removed and their placeholders taken out of the text. The input row is never changed.

    >>> text_only({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]})
    ({'messages': [{'role': 'user', 'content': 'Hi'}]}, 1)
    >>> text_only({"images": ["cat.png"], "prompt": "<image>Name it.", "completion": "Cat"}, drop_media=True)
    ({'prompt': 'Name it.', 'completion': 'Cat'}, 0)
    """
    if not drop_media:
        refuse_media(row)
    out, joined = row, 0
    for key in _TURN_LISTS:
        value = row.get(key)
        if isinstance(value, list):
            turns = [_text_turn(turn, drop_media) for turn in value]
            changed = sum(flag for _, flag in turns)
            if changed or drop_media:
                out = {**out, key: [turn for turn, _ in turns]}
                joined += changed
        elif isinstance(value, dict) and key in ("chosen", "rejected"):
            turn, flag = _text_turn(value, drop_media)
            out, joined = {**out, key: turn}, joined + flag
        elif drop_media and isinstance(value, str):
            out = {**out, key: strip_placeholders(value)}
    if drop_media:
        out = {k: v for k, v in out.items() if k not in MEDIA_COLUMNS}
        for key in ("instruction", "input", "question", "text"):
            if isinstance(out.get(key), str):
                out[key] = strip_placeholders(out[key])
    return out, joined
