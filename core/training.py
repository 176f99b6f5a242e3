"""One training run with TRL's SFTTrainer, reporting into a ``Job``.

Runs in the training worker process (``core/launch.py``; in the job manager's own thread only with
``SFT_COACH_TRAIN_IN=thread``). ``CoachCallback`` is the
bridge: it copies every logged metric into the job, generates the probe
samples between steps, and turns a stop request into
``control.should_training_stop`` (sft-facts §7).
"""

from __future__ import annotations

import os
from pathlib import Path

from core.jobs import Job, StopTraining
from core.paths import trackio_dir


def _make_callback(job: Job, probes: list[dict]):
    from transformers import TrainerCallback

    from core.generation import generate_answers

    prompt_texts = [p["messages"][-1]["content"] for p in probes]

    class CoachCallback(TrainerCallback):
        """Records metrics and samples into the job; honours Stop at the next step end."""

        def __init__(self) -> None:
            self.last_sample_step = -1

        def _sample(self, state, model, tokenizer) -> None:
            if not state.is_world_process_zero:  # several ranks (core/launch.py): the main one samples and records
                return
            done = {entry["step"] for entry in job.snapshot().samples}
            if not probes or state.global_step == self.last_sample_step or state.global_step in done:
                return
            job.set_message(f"Generating sample answers at step {state.global_step}...")
            result = generate_answers(
                model, tokenizer, [p["messages"] for p in probes], job.config.sample_max_new_tokens
            )
            job.record_samples(state.global_step, prompt_texts, result.answers, result.seconds)
            self.last_sample_step = state.global_step
            job.set_message("Training.")

        def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
            job.set_total_steps(state.max_steps)
            self._sample(state, model, processing_class)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                job.record_metrics(state.global_step, logs)
            elif logs and "eval_loss" in logs:
                job.record_eval(state.global_step, logs)
            elif logs and "train_runtime" in logs:
                job.set_summary(logs)

        def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
            job.set_step(state.global_step)
            every = job.config.sample_every
            if every and state.global_step % every == 0 and state.global_step < state.max_steps:
                self._sample(state, model, processing_class)
            if job.stop_requested:
                control.should_training_stop = True
                control.should_save = True  # a stopped run can be resumed from this checkpoint
            return control

        def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
            self._sample(state, model, processing_class)

    return CoachCallback()


def check_trained_model(result_dir: Path, probes: list[dict]) -> str:
    """Reload the saved result from disk and generate a few tokens: proof that it loads."""
    from core.generation import generate_answers
    from core.models import load_trained_model

    model, tokenizer = load_trained_model(result_dir)
    prompt = probes[:1] or [{"messages": [{"role": "user", "content": "Hello!"}]}]
    answer = generate_answers(model, tokenizer, [prompt[0]["messages"]], max_new_tokens=16).answers[0]
    return f"Reloaded from disk and generated: {answer[:80]!r}"


def run_training(job: Job, extra_callbacks: list | tuple = ()) -> None:
    """Train ``job.config`` end to end; the job manager handles phases on errors.

    ``extra_callbacks`` run before the app's own at each event (core/launch.py adds its Stop sync).
    """
    os.environ.setdefault("TRACKIO_DIR", str(trackio_dir()))  # read when trackio is first imported
    from core.ml_stack import import_training_stack

    import_training_stack()  # never race the warm-up thread's imports (see core/ml_stack.py)
    from transformers import AutoTokenizer
    from transformers.trainer_callback import PrinterCallback

    from core.config import build_lora_config, build_sft_config
    from core.data.prepare import own_probes, prepare_training_data
    from core.device import detect_device
    from core.models import remote_code_allowed, resolve_model
    from core.trainer import CoachSFTTrainer

    config = job.config
    device = detect_device()
    config.check_device(device)
    job.set_message("Loading the model...")
    model_path = resolve_model(config.model_id, progress=job.set_message)
    job.set_message("Preparing the dataset...")
    data = prepare_training_data(config.dataset, num_probes=config.num_probe_prompts, seed=config.seed)
    probes = data.probes + own_probes(config.probe_prompts)
    job.set_probes([{"prompt": p["messages"][-1]["content"], "reference": p["reference"]} for p in probes])
    train_dataset, eval_dataset = data.to_datasets()
    if eval_dataset is not None and config.max_eval_rows:
        eval_dataset = eval_dataset.select(range(min(len(eval_dataset), config.max_eval_rows)))
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=remote_code_allowed())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    has_eval = eval_dataset is not None and len(eval_dataset) > 0
    args = build_sft_config(config, job.run_dir / "checkpoints", device, run_name=job.job_id, has_eval=has_eval)
    callbacks = [*extra_callbacks, _make_callback(job, probes)]
    if args.load_best_model_at_end:
        from transformers import EarlyStoppingCallback

        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    job.set_message("Building the trainer...")
    trainer = CoachSFTTrainer(
        model=model_path,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset if has_eval else None,
        processing_class=tokenizer,
        peft_config=build_lora_config(config),
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # the page shows the metrics; keep the server log readable
    if job.stop_requested:
        raise StopTraining()
    resume_from = job.resume_from
    where = f" from step {job.step}" if resume_from else ""
    job.set_phase("training", f"Training on {device.describe()}{where}.")
    trainer.train(resume_from_checkpoint=resume_from)  # the TrainingArguments field of that name is not read

    result_dir = job.run_dir / "final"
    job.set_message("Saving the trained model...")
    trainer.save_model(str(result_dir))
    if not trainer.is_world_process_zero():
        return  # several ranks (core/launch.py): the main one saves the tokenizer and checks the result
    tokenizer.save_pretrained(str(result_dir))
    job.set_message("Checking that the saved model loads...")
    load_check = check_trained_model(result_dir, probes)
    job.set_result(str(result_dir), load_check, trainer.state.best_model_checkpoint)
    kind = "LoRA adapter" if config.uses_peft else "model"
    if job.stop_requested:
        job.set_phase("stopped", f"Stopped at step {job.step}; the {kind} trained so far is saved in {result_dir}.")
    else:
        job.set_phase("finished", f"Finished {job.step} steps; the {kind} is saved in {result_dir}.")
