"""The app's training worker on a bf16 GPU made to look like a T4: ``python -m bench.gpu_kit.t4_worker --run-dir``.

The one change: ``torch.cuda.is_bf16_supported()`` answers False, so ``core.device.detect_device`` reports a GPU
without bf16 and the app takes the path it takes on a T4 (its suggested Space hardware): the model loaded in
float16, ``fp16=True``, SDPA attention. Everything after that is ``core.runs.worker`` unchanged.
"""

from __future__ import annotations

import sys

import torch


def _no_bf16(*args, **kwargs) -> bool:
    return False


torch.cuda.is_bf16_supported = _no_bf16

from core.runs.worker import main  # noqa: E402 - after the patch, so every import below sees it

if __name__ == "__main__":
    sys.exit(main())
