"""Pop-up messages (Gradio toasts) with the person's own text shown as text.

Gradio renders a toast's message as HTML (sanitised: scripts go, ``<img>`` stays), and many messages repeat
what a person typed or uploaded: a file name, a column, a path, a run id. Every toast goes through here, so
that text is escaped once, in one place.
"""

from __future__ import annotations

import html

import gradio as gr


def _text(message: str) -> str:
    return html.escape(str(message), quote=False)


def warn(message: str) -> None:
    """A yellow toast: something was refused or could not be done; the page keeps what it had."""
    gr.Warning(_text(message))


def inform(message: str) -> None:
    """A blue toast: something happened that the person should know about."""
    gr.Info(_text(message))


def refusal(message: str) -> gr.Error:
    """An error to raise from an event: shown as a red toast (and to API clients) with the text escaped."""
    return gr.Error(_text(message))
