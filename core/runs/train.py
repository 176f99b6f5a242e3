"""One training run with TRL's SFTTrainer, recording into a ``Run``.

Runs in the training worker process (``core/runs/worker.py``; in the manager's own thread only with
``SFT_COACH_TRAIN_IN=thread``). ``CoachCallback`` is the bridge: it copies every logged metric into the
run, generates the probe samples between steps, and turns a stop request into
``control.should_training_stop`` at the next step end (TRL's callbacks guide:
https://huggingface.co/docs/transformers/main_classes/callback). How the run ended is decided by
``Run.conclude``, not here.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.config import FINAL_EVAL_ROWS
from core.ml_stack import import_training_stack
from core.paths import trackio_dir
from core.runs.baseline import baseline_key, read_baseline, write_baseline
from core.runs.failures import StopTraining
from core.runs.interrupt import StopNow, StopWatch
from core.runs.record import STOP_SEEN, Run
from core.tracking import trackio_project

os.environ.setdefault("TRACKIO_DIR", str(trackio_dir()))  # read when trackio is first imported, by TRL
import_training_stack()  # this module is imported only to train; never race the warm-up thread's imports
from transformers import TrainerCallback  # noqa: E402


class CoachCallback(TrainerCallback):
    """Records metrics, evaluations and probe samples into the run; honours Stop at the next step end.

    ``probes``: the held-out prompts followed during training, as chat messages (``[{"messages": [...]}]``).
    Only the main process samples and records (with several ranks, ``core/runs/launcher.py``).
    """

    def __init__(self, run: Run, probes: list[dict], baseline: Callable[[str], str] | None = None) -> None:
        self.run = run
        self.probes = probes
        self.baseline = baseline
        """The key of the base model's kept step-0 answers in a precision (core/runs/baseline.py); None: generate."""
        self.prompt_texts = [p["messages"][-1]["content"] for p in probes]
        self.last_sample_step = -1
        self.sample_copy = None
        """``core.sample_copy.SampleCopy`` built at the first sampling point and refreshed at the next ones."""
        self.eval_batches = 0
        self.said_at = 0.0

    def _say(self, message: str, progress: bool = True, every: float = 1.0) -> None:
        """Tell the page how far the current activity is, at most once every ``every`` seconds (each is a write)."""
        now = time.monotonic()
        if not progress or now - self.said_at >= every:
            self.said_at = now
            self.run.set_message(message, progress=progress)

    def _sample(self, state, model, tokenizer) -> None:
        from core.generation import generate_answers
        from core.sample_copy import COPY_DTYPE, answer_dtype, sampling_model

        if not state.is_world_process_zero:
            return
        run = self.run
        if not self.probes or state.global_step == self.last_sample_step or state.global_step in run.sampled_steps():
            return
        if run.stop_requested:
            return  # Stop was pressed: no new samples, the run saves and ends
        keep = self.baseline is not None and state.global_step == 0
        dtype = answer_dtype(model) if keep else ""  # what this run's points answer with (core/sample_copy.py)
        kept = read_baseline(self.baseline(dtype)) if keep else None
        if kept is not None and len(kept) == len(self.probes):
            run.record_samples(0, self.prompt_texts, kept, 0.0, dtype)  # the base model's: nothing trained yet
            self.last_sample_step = 0
            return
        prompts = f"{len(self.probes)} held-out prompt{'s' if len(self.probes) != 1 else ''}"
        what = f"Generating sample answers to {prompts} at step {state.global_step}"
        self._say(f"{what}…", progress=False)

        def progress(tokens: int, total: int) -> None:
            if run.stop_requested:
                self._say(f"{STOP_SEEN}ending the sample answers now, then saving.", every=0)
            else:
                self._say(f"{what}: {tokens} of at most {total} tokens.")

        messages = [p["messages"] for p in self.probes]
        started = time.perf_counter()
        answering, self.sample_copy = sampling_model(model, self.sample_copy)
        result = generate_answers(
            answering,
            tokenizer,
            messages,
            run.config.sample_max_new_tokens,
            should_stop=lambda: run.stop_requested,
            progress=progress,
        )
        if result.stopped:
            return  # cut short by Stop: half answers would mislead the table
        dtype = COPY_DTYPE if self.sample_copy else ""  # answered by the copy
        if keep:
            write_baseline(self.baseline(dtype), result.answers)
        run.record_samples(state.global_step, self.prompt_texts, result.answers, time.perf_counter() - started, dtype)
        self.last_sample_step = state.global_step
        run.set_message("Training.")

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        """One batch of the evaluation done: count it for the page (an evaluation can take minutes on a CPU)."""
        if not state.is_world_process_zero:
            return
        self.eval_batches += 1
        total = len(eval_dataloader) if eval_dataloader is not None else "?"
        waiting = f"{STOP_SEEN}ending the evaluation now" if self.run.stop_requested else "Evaluating"
        self._say(
            f"{waiting} on the validation rows at step {state.global_step}: batch {self.eval_batches} of {total}.",
            progress=self.eval_batches > 1,
        )

    def on_evaluate(self, args, state, control, **kwargs):
        self.eval_batches = 0
        if state.is_world_process_zero and not self.run.stop_requested:
            self.run.set_message("Training.")

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        self.run.set_total_steps(state.max_steps)
        self._sample(state, model, processing_class)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.run.record_metrics(state.global_step, logs)
        elif logs and "eval_loss" in logs:
            self.run.record_eval(state.global_step, logs)
        elif logs and "train_runtime" in logs:
            self.run.set_summary(logs)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        self.run.set_step(state.global_step)
        every = self.run.config.sample_every
        if every and state.global_step % every == 0 and state.global_step < state.max_steps:
            self._sample(state, model, processing_class)
        if getattr(args, "eval_strategy", "no") != "no" and state.global_step >= state.max_steps:
            control.should_evaluate = True  # the last step is always evaluated, on every row (sft_trainer.py)
        if self.run.stop_requested:
            control.should_training_stop = True
            control.should_save = True  # a stopped run can be resumed from this checkpoint
        return control

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        self._sample(state, model, processing_class)


def check_trained_model(result_dir: Path, probes: list[dict]) -> str:
    """Reload the saved result from disk and generate a few tokens: proof that it loads."""
    from core.generation import generate_answers
    from core.models.catalog import load_trained_model

    model, tokenizer = load_trained_model(result_dir)
    prompt = probes[:1] or [{"messages": [{"role": "user", "content": "Hello!"}]}]
    answer = generate_answers(model, tokenizer, [prompt[0]["messages"]], max_new_tokens=16).answers[0]
    return f"Reloaded from disk and generated: {answer[:80]!r}"


@dataclass
class RunInputs:
    """What a run reads before it builds its trainer; none of it depends on the run's weights."""

    model_path: str
    tokenizer: object
    data: object
    """``core.data.prepare.PreparedData``: the rows to train and hold out."""
    probes: list[dict]

    def baseline(self, config, device, dtype: str) -> str:
        """The key of the base model's answers to these probes (core/runs/baseline.py), generated in ``dtype``.

        "bfloat16": by a bfloat16 copy (core/sample_copy.py); "": by the model as it trains. The two are kept
        apart, so a sample table never shows step-0 answers of one kind above later ones of the other.
        """
        messages = [p["messages"] for p in self.probes]
        chat_template = self.tokenizer.chat_template
        from core.sample_copy import COPY_DTYPE

        where = f"{device.kind}, bf16 copy" if dtype == COPY_DTYPE else device.kind
        tokens = config.sample_max_new_tokens
        return baseline_key(self.model_path, chat_template, messages, tokens, config.method, where)


_kept_inputs: dict[str, RunInputs] = {}  # the head start's inputs, for the run this same process trains next


def _inputs_key(config) -> str:
    """What ``read_inputs`` reads: the model, the dataset (and its file's size and time) and the probes."""
    import json

    dataset = Path(config.dataset)
    stamp = (dataset.stat().st_size, dataset.stat().st_mtime_ns) if dataset.is_file() else None
    fields = [config.model_id, config.dataset, stamp, config.num_probe_prompts, config.seed, config.probe_prompts]
    return json.dumps(fields, default=str)


def keep_inputs(config, inputs: RunInputs) -> None:
    """Keep the head start's inputs (core/runs/warm.py) for the run this worker is handed next; only the latest."""
    _kept_inputs.clear()
    _kept_inputs[_inputs_key(config)] = inputs


def inputs_for_run(config, say=print) -> RunInputs:
    """The inputs the head start read for these settings, else read now: ~0.2 s of the warm start's 3 s."""
    kept = _kept_inputs.pop(_inputs_key(config), None)
    _kept_inputs.clear()
    if kept is None:
        return read_inputs(config, say=say)
    say("Loading the model...")  # the page's activity shows the same steps, read in memory this time
    return kept


def read_inputs(config, say=print) -> RunInputs:
    """Resolve the model, load its tokenizer and prepare the rows and probes, as a run of ``config`` will.

    The training run and the standby worker's head start (``core/runs/warm.py``) both call this, so the
    baseline the standby keeps has the key the run looks for.
    """
    from transformers import AutoTokenizer

    from core.data.prepare import own_probes, prepare_training_data
    from core.models.catalog import remote_code_allowed, resolve_model

    say("Loading the model...")
    model_path = resolve_model(config.model_id, progress=say)
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=remote_code_allowed())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    say("Preparing the dataset...")
    data = prepare_training_data(  # the tokenizer decides whether tool rows are written as text, as previewed
        config.dataset,
        num_probes=config.num_probe_prompts,
        seed=config.seed,
        tokenizer=tokenizer,
        model_name=config.model_id.split("/")[-1],
    )
    return RunInputs(model_path, tokenizer, data, data.probes + own_probes(config.probe_prompts))


def build_trainer(config, inputs: RunInputs, device, output_dir, run_name: str, project: str, callbacks=(), say=print):
    """The run's ``CoachSFTTrainer``; its data prepared by TRL, or read prepared (core/runs/token_cache.py).

    The run calls it, and so does the standby worker's head start (core/runs/warm.py), whose trainer is never
    trained: it only leaves the tokenised data for the run to find.
    """
    from transformers import EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback

    from core.runs.sft_trainer import CoachSFTTrainer
    from core.runs.token_cache import keep_tokenised, read_tokenised, tokenised_key
    from core.trl_args import build_lora_config, build_sft_config

    train_dataset, eval_dataset = inputs.data.to_datasets()
    # Evaluations between use the first max_eval_rows rows; the last one every row up to FINAL_EVAL_ROWS. With
    # early stopping every evaluation uses the same rows: the best checkpoint is chosen by comparing them.
    bounded = config.max_eval_rows and not config.early_stopping_patience
    keep = FINAL_EVAL_ROWS if bounded else config.max_eval_rows
    if eval_dataset is not None and keep:
        eval_dataset = eval_dataset.select(range(min(len(eval_dataset), keep)))
    if eval_dataset is not None and len(eval_dataset) == 0:
        eval_dataset = None
    args = build_sft_config(config, output_dir, device, run_name=run_name, has_eval=eval_dataset is not None,
                            project=project)  # fmt: skip
    callbacks = list(callbacks)
    if args.load_best_model_at_end:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    key = tokenised_key(train_dataset, eval_dataset, inputs.tokenizer, args)
    kept = read_tokenised(key)
    if kept is not None:  # the same rows, tokenizer and settings as before: TRL's preparation is done already
        train_dataset, eval_dataset = kept
        args.dataset_kwargs = {**(args.dataset_kwargs or {}), "skip_prepare_dataset": True}
    say("Building the trainer...")
    trainer = CoachSFTTrainer(
        model=inputs.model_path,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=inputs.tokenizer,
        peft_config=build_lora_config(config),
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # the page shows the metrics; keep the server log readable
    trainer.eval_rows_between = config.max_eval_rows if bounded else 0
    if kept is None:
        keep_tokenised(key, trainer.train_dataset, trainer.eval_dataset)
    return trainer


def run_training(run: Run, extra_callbacks: list | tuple = ()) -> None:
    """Train ``run.config`` end to end and save the result; raises on failure (``Run.conclude`` records it).

    ``extra_callbacks`` run before the app's own at each event (the worker adds its Stop sync).
    """
    from core.device import detect_device
    from core.runs.trained_with import record_trained_with

    config = run.config
    device = detect_device()
    config.check_device(device)
    inputs = inputs_for_run(config, say=run.set_message)
    tokenizer, data, probes = inputs.tokenizer, inputs.data, inputs.probes
    if run.writes:  # Try it repeats this system prompt for the run's model (core/runs/trained_with.py)
        record_trained_with(run.folder, data.train_rows)
    run.set_probes([{"prompt": p["messages"][-1]["content"], "reference": p["reference"]} for p in probes])
    project = trackio_project(run.owner)  # each person's runs in a trackio project of their own
    baseline = None if run.resume_from else functools.partial(inputs.baseline, config, device)
    callbacks = [*extra_callbacks, CoachCallback(run, probes, baseline)]
    trainer = build_trainer(config, inputs, device, run.folder.checkpoints_dir, run.run_id, project, callbacks,
                            say=run.set_message)  # fmt: skip
    if run.stop_requested:
        raise StopTraining()
    resume_from = run.resume_from
    where = f" from step {run.step}" if resume_from else ""
    run.set_phase("training", f"Training on {device.describe()}{where}.")
    if trainer.accelerator.num_processes == 1:  # several ranks stop together at a step end (worker.StopSync)
        trainer.stop_watch = StopWatch(lambda: run.stop_requested)
        trainer.stop_watch.install(trainer.model)
    try:
        trainer.train(resume_from_checkpoint=resume_from)  # the TrainingArguments field of that name is not read
    except StopNow:
        keep_last_step(run, trainer)
    if trainer.stop_watch is not None:
        trainer.stop_watch.remove()

    result_dir = run.folder.final_dir
    run.set_message("Saving the trained model...")
    trainer.save_model(str(result_dir))
    if not trainer.is_world_process_zero():
        return  # several ranks: the main one saves the tokenizer and checks the result
    tokenizer.save_pretrained(str(result_dir))
    if run.stop_requested:  # Stop answers in a second; the reload check would add a model load and a generation
        run.set_result(str(result_dir), None, trainer.state.best_model_checkpoint)
        return
    run.set_message("Checking that the saved model loads...")
    load_check = check_trained_model(result_dir, probes)
    run.set_result(str(result_dir), load_check, trainer.state.best_model_checkpoint)


def keep_last_step(run: Run, trainer) -> None:
    """Stop ended a step or an evaluation midway (core/runs/interrupt.py): save the last complete step.

    The weights, optimizer and scheduler are those of step ``global_step`` (the optimizer step is never cut), so
    that step's checkpoint resumes exactly; a checkpoint already saved for it is kept as it is.
    """
    trainer.model.zero_grad(set_to_none=True)  # half a step's gradients: never applied
    step = trainer.state.global_step
    if step == 0:
        raise StopTraining("Stopped before the first step ended; nothing was trained, so nothing was saved.")
    run.set_message(f"{STOP_SEEN}saving step {step}.")
    last = run.folder.last_complete_checkpoint()
    if last is None or last.step != step:
        trainer._save_checkpoint(trainer.model, trial=None)
    trainer.control.should_training_stop = True
    trainer.callback_handler.on_train_end(trainer.args, trainer.state, trainer.control)
