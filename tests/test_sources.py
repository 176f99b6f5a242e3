"""The public sources: each an https page on a known host, each named once, each name turned into its link."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from core.sources import (
    ALLOWED_HOSTS,
    SOURCES,
    cite,
    link_sources_html,
    link_sources_markdown,
    source_html,
    source_markdown,
)


@pytest.mark.parametrize("key", list(SOURCES))
def test_every_source_is_an_https_page_on_an_allowed_host(key):
    address = urlparse(SOURCES[key].url)
    assert address.scheme == "https" and address.hostname in ALLOWED_HOSTS, SOURCES[key].url
    assert SOURCES[key].about.endswith(".") and len(SOURCES[key].about) < 220  # one line a beginner can read


def test_no_source_name_is_part_of_another_so_every_link_points_where_it_says():
    names = [source.name for source in SOURCES.values()]
    assert len(set(names)) == len(names)
    assert not [(a, b) for a in names for b in names if a != b and a in b]


def test_a_cited_source_becomes_its_link_in_html_and_markdown():
    text = f"Effective batch by data size ({cite('training_hub')}) & steps ({cite('tinker_lr')})."
    page = link_sources_html(text)
    assert page.count("<a href=") == 2 and "&amp; steps" in page
    assert "href='https://ai-innovation.team/training_hub/#/'" in page and "target='_blank'" in page
    assert "title='The docs of Training Hub" in page  # what the page is, on hover
    assert "[Tinker's learning-rate guidance](https://tinker-docs.thinkingmachines.ai/" in link_sources_markdown(text)
    assert source_html("trl_sft").startswith("— source: <a href='https://huggingface.co/docs/trl/sft_trainer'")
    assert source_markdown("trl_formats", "trl_sft").count("](https://huggingface.co/docs/trl/") == 2
