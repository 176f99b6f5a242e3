"""A one-line plain explanation of every term a beginner meets in the page, held once.

The UI shows them on hover (``explain_terms_html`` wraps the first use of each term in ``<abbr title>``) or in
place (``explain_terms_markdown`` lists the terms a text uses). The charts' "what good looks like" lines are
here too (``CHART_GUIDE``), next to the terms they use.

>>> "<abbr title=" in explain_terms_html("The Tinker formula says 1.3e-3.")
True
>>> terms_in("LoRA rank 16, LoRA alpha 32")
['LoRA rank', 'LoRA alpha']
"""

from __future__ import annotations

import html
import re

from core.sources import link_sources_html

GLOSSARY: dict[str, str] = {
    "Tinker formula": "A rule of thumb from Tinker (Thinking Machines' fine-tuning service) that sets the learning "
    "rate from the model's width: 5e-5, x 10 with LoRA, x (2000 / hidden size) to a power fitted per model family.",
    "Tinker": "Thinking Machines' fine-tuning service; its public docs give learning-rate and batch-size advice "
    "measured over many training runs.",
    "Training Hub": "The Red Hat AI Innovation Team's open training library; its docs suggest learning rates, "
    "batch sizes and epochs by data size.",
    "assistant_only_loss": "TRL's setting that trains only on the assistant's replies: the user's turns and the "
    "system prompt are context the model reads, not text it learns to write.",
    "{% generation %}": "Markers in a chat template around each assistant reply; TRL needs them to tell which "
    "tokens are the replies when it trains on those alone.",
    "EOS": "End of sequence: the token a model writes to say its answer is finished. Trained on it, the model "
    "learns where to stop.",
    "end-of-sequence": "The token a model writes to say its answer is finished (EOS). Trained on it, the model "
    "learns where to stop.",
    "pad token": "A filler token that makes the rows of a batch the same length; it never carries loss.",
    "LoRA rank": "The width of the small adapter matrices LoRA trains: a higher rank can learn more and uses a "
    "little more memory.",
    "LoRA alpha": "How strongly the adapters' changes count; usually twice the rank.",
    "gradient norm": "The size of the change the model's weights are being pushed to make at a step, measured "
    "before clipping caps it.",
    "entropy": "How unsure the model is about its next token (in nats): it falls as the model learns; 0 means "
    "certain.",
    "token accuracy": "The share of trained tokens the model's top guess gets exactly right.",
    "effective batch": "The rows behind one update of the weights: batch size per step x gradient accumulation.",
    "optimizer steps": "Updates of the weights; each one learns from one effective batch of rows.",
}

# What good looks like on each training chart (core/charts.metric_figure puts it under the title).
CHART_GUIDE: dict[str, str] = {
    "grad_norm": "Good: steady or slowly falling after the first steps; repeated spikes far above the rest mean the "
    "learning rate is too high.",
    "entropy": "Good: falls as the model learns the answers, then levels off; a task with one right answer heads "
    "towards 0.",
    "mean_token_accuracy": "Good: rises and levels off; a templated task like the JSON demo can get close to 100%.",
    "learning_rate": "Expected shape: a short warmup ramp, then a straight fall to 0 by the last step.",
}

_TERMS = re.compile(
    "|".join(rf"(?<![\w{{]){re.escape(term)}(?![\w}}])" for term in sorted(GLOSSARY, key=len, reverse=True)),
    re.IGNORECASE,
)
_LOWER = {term.lower(): term for term in GLOSSARY}


def terms_in(text: str) -> list[str]:
    """The glossary terms ``text`` uses, in order of first use."""
    found: list[str] = []
    for match in _TERMS.finditer(text):
        term = _LOWER[match.group(0).lower()]
        if term not in found:
            found.append(term)
    return found


def explain_terms_html(text: str, seen: set[str] | None = None) -> str:
    """``text`` HTML-escaped, with the first use of each glossary term explained on hover (``<abbr title>``).

    ``seen`` carries the terms already explained across several pieces of one text.

    >>> text = explain_terms_html("entropy and Entropy <3")
    >>> text.startswith("<abbr title='How unsure"), text.endswith("</abbr> and Entropy &lt;3")
    (True, True)
    """
    seen = set() if seen is None else seen

    def explain(match: re.Match) -> str:
        term = _LOWER[match.group(0).lower()]
        if term in seen:
            return match.group(0)
        seen.add(term)
        return f"<abbr title='{html.escape(GLOSSARY[term], quote=True)}'>{match.group(0)}</abbr>"

    return _TERMS.sub(explain, html.escape(text, quote=False))


def annotate_html(text: str) -> str:
    """``text`` for the page: sources named in it become links, the first use of each term is explained on hover.

    >>> page = annotate_html("Tinker formula, from Tinker's learning-rate guidance")
    >>> page.count("<abbr"), page.count("<a href")
    (1, 1)
    """
    seen: set[str] = set()
    return link_sources_html(text, escape=lambda piece: explain_terms_html(piece, seen))


def explain_terms_markdown(text: str) -> str:
    """A short Markdown list explaining the glossary terms ``text`` uses, or "" when it uses none."""
    return "\n".join(f"- *{term}*: {GLOSSARY[term]}" for term in terms_in(text))
