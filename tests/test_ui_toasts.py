"""Pop-up messages show a person's own text as text: Gradio renders toasts as (sanitised) HTML."""

from __future__ import annotations

import gradio as gr
import pytest

from ui.toasts import inform, refusal, warn


def test_text_in_toasts_is_escaped(monkeypatch):
    shown = []
    monkeypatch.setattr(gr, "Warning", lambda message: shown.append(message))
    monkeypatch.setattr(gr, "Info", lambda message: shown.append(message))
    warn("Could not use <img src=x onerror=alert(1)>.jsonl")
    inform("Run 'a&b' <b>started</b>")
    assert shown == [
        "Could not use &lt;img src=x onerror=alert(1)&gt;.jsonl",
        "Run 'a&amp;b' &lt;b&gt;started&lt;/b&gt;",
    ]
    with pytest.raises(gr.Error) as raised:
        raise refusal("<script>alert(1)</script>")
    assert raised.value.message == "&lt;script&gt;alert(1)&lt;/script&gt;"
