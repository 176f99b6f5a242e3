"""The glossary: every term a beginner meets is explained once, on hover or in place, and never breaks the HTML."""

from __future__ import annotations

from core.glossary import CHART_GUIDE, GLOSSARY, annotate_html, explain_terms_html, explain_terms_markdown, terms_in


def test_the_terms_the_issue_named_are_all_explained():
    for term in ("Tinker formula", "Training Hub", "assistant_only_loss", "{% generation %}", "EOS", "pad token",
                 "LoRA rank", "LoRA alpha", "gradient norm", "entropy", "token accuracy"):  # fmt: skip
        assert term in GLOSSARY and len(GLOSSARY[term]) < 220, term
    assert set(CHART_GUIDE) >= {"grad_norm", "entropy"}


def test_each_term_is_explained_on_hover_once_and_the_text_stays_escaped():
    page = explain_terms_html("Entropy fell; entropy <b>is</b> low. The {% generation %} markers are missing.")
    assert page.count("<abbr") == 2 and "&lt;b&gt;is&lt;/b&gt;" in page
    assert page.startswith("<abbr title='How unsure") and ">{% generation %}</abbr>" in page
    assert "token accuracy" not in terms_in("accuracy of each token")  # whole terms only


def test_sources_and_terms_together_never_nest_a_link_inside_a_hover():
    page = annotate_html("Tinker formula (Tinker's learning-rate guidance); Tinker advises 100 steps.")
    assert page.count("<a href=") == 1 and page.count("<abbr") == 2  # "Tinker formula", then "Tinker"
    assert "<abbr" not in page[page.index("<a href") : page.index("</a>")]


def test_in_place_explanations_list_the_terms_a_text_uses():
    listed = explain_terms_markdown("LoRA rank 16 and LoRA alpha 32")
    assert listed.splitlines()[0].startswith("- *LoRA rank*: ") and "*LoRA alpha*" in listed
    assert explain_terms_markdown("nothing technical here") == ""
