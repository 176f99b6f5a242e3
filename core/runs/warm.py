"""The standby worker's head start: the work before a run's first step that does not depend on the run.

A standby worker (``python -m core.runs.worker --standby``, started by ``core/runs/standby.py``) has torch,
transformers and TRL imported before anyone presses Start. While it waits, the app may tell it what the next
run will probably train (the settings in the page, checked against what that person may open); it then does
what that run would do first, so the run finds it done:

- the model's folder resolved (the offline model converted once) and its weight files read, so the trainer's
  load comes from memory;
- the dataset prepared with the model's tokenizer, as the run prepares it, and tokenised by TRL as the run's
  trainer would (kept by content hash, core/runs/token_cache.py): ~1 s of the trainer's build for 1,000 rows;
- the base model's answers to the probe prompts, the run's step-0 samples, computed and kept
  (``core/runs/baseline.py``): ~6 s on a quiet 2-core machine and a minute on a busy one, which the first
  loss point no longer waits for.

Only models already on this machine are warmed (the offline and tiny models, local folders): a Hub model is
downloaded by a run someone started, not by a setting someone is still editing. A head start never fails
anything: an error is left for the run itself to meet and report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.runs.baseline import read_baseline, write_baseline

_CHUNK = 16 << 20


def warmable(model_id: str) -> bool:
    """True for models that need no download: the offline model's copy, the tiny model and folders on this machine.

    A run's config names the offline copy by its own id (``core/models/origin.py``) whenever the Hub can't be
    reached, which is what the page checks a head start's settings with (``RunManager.checked_inputs``).

    >>> from core.models.catalog import OFFLINE_COPY_ID
    >>> warmable(OFFLINE_COPY_ID), warmable("someone/not-here")
    (True, False)
    """
    from core.models.catalog import OFFLINE_COPY_ID, OFFLINE_MODEL_ID, TINY_MODEL_ID, is_local_model_folder

    return model_id in (OFFLINE_MODEL_ID, OFFLINE_COPY_ID, TINY_MODEL_ID) or is_local_model_folder(model_id)


def read_weights(model_path: str | Path) -> int:
    """Read the model's weight files once (into the system's file cache); returns the bytes read."""
    total = 0
    for path in sorted(Path(model_path).glob("*.safetensors")):
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                total += len(chunk)
    return total


def warm(values: dict, should_stop: Callable[[], bool] = lambda: False, say: Callable[[str], None] = print) -> str:
    """Do the head start for a run of the config ``values``; returns what was done, in a sentence.

    ``should_stop()`` is asked between the parts and after each generated token: True (a run was handed over)
    ends the head start there, keeping nothing half done.
    """
    from core.config import RunConfig
    from core.device import detect_device
    from core.runs.train import keep_inputs, read_inputs
    from core.sample_copy import answer_dtype_on

    config = RunConfig.from_dict(values)
    if not warmable(config.model_id):
        return f"Warmed nothing: {config.model_id} is not on this machine."
    device = detect_device()
    inputs = read_inputs(config, say=say)
    keep_inputs(config, inputs)
    read_weights(inputs.model_path)
    if should_stop():
        return "Warmed the model."
    tokenise(config, device, inputs, say)
    if not inputs.probes or should_stop():
        return "Warmed the model and the data."
    likely = answer_dtype_on(device.kind)  # the run's model decides (train.py): known once it is loaded
    if read_baseline(inputs.baseline(config, device, likely)) is not None:
        return "Warmed the model and the data; the step-0 answers were kept already."
    answered = base_answers(config, device, inputs, should_stop)
    if answered is None:
        return "Warmed the model and the data; the step-0 answers were cut short by a run."
    answers, dtype = answered
    write_baseline(inputs.baseline(config, device, dtype), answers)
    return f"Warmed the model and the data, and kept the step-0 answers to {len(answers)} prompt(s)."


def tokenise(config, device, inputs, say: Callable[[str], None]) -> None:
    """Build the run's trainer once, untrained, so that TRL's preparation of the rows is kept for the run."""
    import shutil
    import tempfile

    from core.runs.train import build_trainer

    scratch = tempfile.mkdtemp(prefix="sft-coach-warm-")
    try:
        trainer = build_trainer(config, inputs, device, scratch, run_name="head-start", project="head-start", say=say)
        rehearse_step(trainer)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def rehearse_step(trainer) -> None:
    """One forward and backward pass on the first batch, thrown away: the process's first pass sets up the math
    library's kernels and memory pools (~0.7 s of the run's first step on the 2-core CPU), and this process is
    the one that will train. Nothing is stepped: this trainer and its model are dropped afterwards."""
    model = trainer.model
    model.train()
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    trainer.compute_loss(model, batch).backward()
    model.zero_grad(set_to_none=True)


def base_answers(config, device, inputs, should_stop: Callable[[], bool]) -> tuple[list[str], str] | None:
    """The base model's greedy answers to the probes, loaded as the trainer loads it, and the precision that
    answered ("bfloat16": a copy, core/sample_copy.py); None when cut short."""
    from transformers import AutoModelForCausalLM

    from core.generation import generate_answers
    from core.sample_copy import COPY_DTYPE, sampling_model
    from core.trl_args import build_model_init_kwargs

    kwargs = build_model_init_kwargs(config, device)  # dtype, quantization and remote code, as the trainer loads it
    model = AutoModelForCausalLM.from_pretrained(inputs.model_path, **kwargs)
    if "quantization_config" not in kwargs:
        model = model.to(device.kind)
    model, copy = sampling_model(model, None)  # the copy later points answer with, for a like-with-like table
    result = generate_answers(
        model,
        inputs.tokenizer,
        [p["messages"] for p in inputs.probes],
        config.sample_max_new_tokens,
        should_stop=should_stop,
    )
    return None if result.stopped else (result.answers, COPY_DTYPE if copy else "")
