"""The first imports of transformers/TRL from several threads at once must not fail (core/ml_stack.py).

Without the lock, this scenario failed 3 times out of 3 here with "cannot import
name 'AutoTokenizer' from 'transformers'": what a user saw when clicking Start
while the warm-up thread was still importing TRL.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests import ROOT

SCENARIO = textwrap.dedent(
    """
    import sys, threading
    sys.path.insert(0, {root!r})
    from core.data.preview import load_tokenizer
    from core.data.templates import assistant_only_loss_support
    from core.ml_stack import import_training_stack

    barrier = threading.Barrier(6)
    errors = []

    def warm_up():  # what app.warm_up does first
        barrier.wait()
        try:
            import_training_stack()
            from trl import SFTTrainer  # noqa: F401
        except Exception as err:
            errors.append(repr(err))

    def preview():  # a Data-step check in a gradio worker thread: tokenizer, then TRL's template helpers
        barrier.wait()
        try:
            assistant_only_loss_support(load_tokenizer({model!r}))
        except Exception as err:
            errors.append(repr(err))

    threads = [threading.Thread(target=warm_up if i % 2 else preview) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(errors)
    """
)


def test_concurrent_first_imports_all_succeed(tiny_model_path):
    code = SCENARIO.format(root=str(ROOT), model=str(tiny_model_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout[-3000:]
