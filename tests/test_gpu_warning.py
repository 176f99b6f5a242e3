"""A GPU the machine was given but PyTorch can't use: said on the page (a banner) instead of training on the CPU.

The checks behind it are unit-tested in tests/test_gpu_config.py."""

from __future__ import annotations

import httpx

from core.device import gpu_given


def _page_component(url: str, elem_id: str) -> dict | None:
    config = httpx.get(url + "config", timeout=60).json()
    return next((c for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id), None)


def test_a_gpu_given_but_invisible_to_torch_puts_a_banner_on_the_page(launch_app):
    app = launch_app({"NVIDIA_VISIBLE_DEVICES": "0"}, name="gpu-given")  # as a GPU Space sets it; torch here: CPU
    banner = _page_component(app.url, "gpu-warning")
    assert banner is not None, "no GPU warning on the page"
    text = banner["props"]["value"]
    assert "The GPU is not in use" in text and "NVIDIA_VISIBLE_DEVICES=0" in text and "run on the CPU" in text
    assert "<a href='https://docs.nvidia.com/deploy/cuda-compatibility/" in text  # the driver table, a link
    assert "WARNING: This machine was given a GPU" in app.log()
    if gpu_given() is None:  # nothing says this machine has a GPU (a CPU test machine): no banner
        assert _page_component(launch_app(name="no-gpu").url, "gpu-warning") is None
