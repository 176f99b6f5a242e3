"""Work the check runs in a fresh process of its own: ``python -m bench.gpu_kit.jobs '<json list of jobs>'``.

Each job prints one ``RESULT {json}`` line. Three kinds:

- ``trl``: plain TRL, ``trl.SFTTrainer`` on the settings the app would use (written out here, not through the
  app's code), timed per logged step as the app's run record times its steps;
- ``memory``: the app's own trainer (``build_sft_config`` + ``CoachSFTTrainer``, as ``bench/bench_memory.py``)
  for a few steps; its peak (``torch.cuda.max_memory_allocated``, on a CPU the kernel's peak resident set)
  against ``core.memory.estimate_memory``;
- ``chat``: ``core.chat.chat_once`` and ``stream_chat`` on a model loaded by the Try it step's ``ModelPool``;
- ``reload``: a path's checkpoint loaded as Try it loads a run's result (``load_trained_model``), and generating.

One process runs them all, one after another (each import of the training stack costs seconds): every job frees
what it loaded, and the memory job measures from what is allocated when it starts.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path


def _device():
    from core.device import detect_device

    return detect_device()


def trl_job(spec: dict) -> dict:
    """Plain TRL: the same model, rows, seed and settings as the app's run, with TRL's own trainer."""
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from core.device import attention_implementation

    device = _device()
    logged: list[dict] = []

    class StepTimes(TrainerCallback):
        """Wall time of each logged step, as the app's run record stamps its metrics (core/runs/record.py)."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                logged.append({"step": state.global_step, "time": time.time(), **logs})

    dtype = ("bfloat16" if device.bf16 else "float16") if device.is_cuda else "float32"
    init = {"dtype": dtype, "use_safetensors": True}
    if attention_implementation(device):
        init["attn_implementation"] = attention_implementation(device)
    args = SFTConfig(
        output_dir=spec["out"],
        learning_rate=spec["learning_rate"],
        per_device_train_batch_size=spec["batch"],
        gradient_accumulation_steps=1,
        max_length=spec["max_length"],
        packing=spec["packing"],
        packing_strategy=spec["packing_strategy"],
        padding_free=spec.get("padding_free", False),
        max_steps=spec["steps"],
        warmup_steps=0.1,
        lr_scheduler_type="cosine",
        logging_steps=1,
        save_strategy="no",
        seed=42,
        data_seed=42,
        gradient_checkpointing=False,
        use_cpu=not device.is_cuda,
        bf16=device.is_cuda and device.bf16,
        fp16=device.is_cuda and not device.bf16,
        dataloader_num_workers=0,
        report_to=["trackio"],
        project="sft-coach-gpu-check",
        trackio_static_space_id=False,
        disable_tqdm=True,
        model_init_kwargs=init,
    )
    lora = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", bias="none", task_type="CAUSAL_LM"
    )
    data = load_dataset("json", data_files=str(Path(spec["data"]) / "train.jsonl"), split="train")
    trainer = SFTTrainer(model=spec["model"], args=args, train_dataset=data, peft_config=lora, callbacks=[StepTimes()])
    trainer.train()
    del trainer
    _free()
    return {"metrics": logged}


def memory_job(spec: dict) -> dict:
    """The app's trainer for a few steps on rows cut to max_length; its peak memory and the app's estimate."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from transformers.trainer_callback import PrinterCallback

    from bench.gpu_kit.build import long_rows
    from core.config import RunConfig
    from core.memory import estimate_memory
    from core.models.catalog import read_model_config
    from core.runs.sft_trainer import CoachSFTTrainer
    from core.trl_args import build_lora_config, build_sft_config

    device = _device()
    config = RunConfig(
        model_id=spec["model"],
        method=spec["method"],
        per_device_batch_size=spec["batch"],
        max_length=spec["max_length"],
        max_steps=spec["steps"],
        gradient_checkpointing=spec["checkpointing"],
        sample_every=0,
        num_probe_prompts=0,
        eval_steps=0,
        save_steps=0,
        seed=0,
    )
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    rows = Dataset.from_list(long_rows(tokenizer, spec["max_length"], spec["batch"] * spec["steps"]))
    args = build_sft_config(config, Path(spec["out"]), device, has_eval=False)
    _free()
    before = _memory_now(device)
    trainer = CoachSFTTrainer(
        model=spec["model"],
        args=args,
        train_dataset=rows,
        processing_class=tokenizer,
        peft_config=build_lora_config(config),
    )
    trainer.remove_callback(PrinterCallback)
    _reset_peak(device)  # loading's passing peak is not training's: only what stays (weights) and training count
    trainer.train()
    measured = _peak(device) - before
    estimate = estimate_memory(read_model_config(spec["model"]), config, device, row_tokens=spec["max_length"])
    del trainer
    _free()
    how = "torch.cuda.max_memory_allocated" if device.is_cuda else "peak RSS (VmHWM) - baseline"
    return {
        "estimate_parts": estimate.parts,
        "estimate": estimate.total_bytes,
        "measured": measured,
        "measured_as": how,
    }


@contextmanager
def counting_tokens(model):
    """Count the tokens ``model.generate`` returns beyond its prompt (decoding and re-encoding a random model's
    reply would miscount: its special tokens are skipped)."""
    counts: list[int] = []
    generate = model.generate

    def counted(*args, **kwargs):
        output = generate(*args, **kwargs)
        counts.append(int(output.shape[1] - kwargs["input_ids"].shape[1]))
        return output

    model.generate = counted
    try:
        yield counts
    finally:
        del model.generate  # the instance attribute goes; the class's method shows again


def reload_job(spec: dict) -> dict:
    """A checkpoint reloaded from disk as Try it loads a run's result, and a few tokens generated from it."""
    from core.generation import generate_answers
    from core.models.catalog import load_trained_model

    model, tokenizer = load_trained_model(spec["model"])
    prompt = [[{"role": "user", "content": "Ada Lovelace, 36, lives in London."}]]
    with counting_tokens(model) as counts:
        answer = generate_answers(model, tokenizer, prompt, max_new_tokens=8).answers[0]
    del model
    _free()
    return {"answer": answer, "tokens": sum(counts)}


def chat_job(spec: dict) -> dict:
    """Chat tokens/s on the Try it step's path: one reply at a time, greedy, streamed and not, rounds interleaved.

    In a worker thread, as Gradio runs the Try it step's handlers (on a busy CPU, torch ran generation several
    times slower from the main thread: bench/bench_generation.py)."""
    from bench.bench_generation import in_worker_thread

    return in_worker_thread(_chat, spec)


def _chat(spec: dict) -> dict:
    from core.chat import GenerationSettings, chat_once, stream_chat
    from core.models.pool import ModelPool, device_for_chat

    where, _ = device_for_chat(training_active=False)
    pool = ModelPool(max_loaded=1, device=where)
    messages = [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}]
    settings = GenerationSettings(deterministic=True, max_new_tokens=spec["tokens"])
    totals = {"chat_once": [0, 0.0, []], "stream_chat": [0, 0.0, []]}
    with pool.use(spec["model"]) as loaded:
        model, tokenizer = loaded.model, loaded.tokenizer
        warm_up = GenerationSettings(deterministic=True, max_new_tokens=4)  # first calls pay one-off allocations
        chat_once(model, tokenizer, messages, warm_up)
        list(stream_chat(model, tokenizer, messages, warm_up))
        for round_index in range(spec["rounds"]):
            order = ["chat_once", "stream_chat"] if round_index % 2 == 0 else ["stream_chat", "chat_once"]
            for path in order:
                start, first = time.perf_counter(), None
                with counting_tokens(model) as counts:
                    if path == "chat_once":
                        chat_once(model, tokenizer, messages, settings)
                    else:
                        for _ in stream_chat(model, tokenizer, messages, settings):
                            first = first if first is not None else time.perf_counter() - start
                seconds = time.perf_counter() - start
                entry = totals[path]
                entry[0] += sum(counts)
                entry[1] += seconds
                if first is not None:
                    entry[2].append(first)
    del model, loaded
    pool.clear()
    paths = {path: {"tokens": t, "seconds": s, "first_text": f} for path, (t, s, f) in totals.items()}
    return {"device": where, "paths": paths}


def _memory_now(device) -> int:
    if device.is_cuda:
        import torch

        return torch.cuda.memory_allocated()
    import psutil

    return psutil.Process().memory_info().rss


def _reset_peak(device) -> None:
    if device.is_cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
    else:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set (Linux 4.0+)


def _peak(device) -> int:
    if device.is_cuda:
        import torch

        return torch.cuda.max_memory_allocated()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("No VmHWM in /proc/self/status: the CPU memory check needs Linux.")


def _free() -> None:
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


JOBS = {"trl": trl_job, "memory": memory_job, "chat": chat_job, "reload": reload_job}


def main(argv: list[str]) -> int:
    from core.ml_stack import import_training_stack

    import_training_stack()
    for spec in json.loads(argv[0]):
        started = time.time()
        try:
            result = {"ok": True, **JOBS[spec["kind"]](spec), "seconds": round(time.time() - started, 1)}
        except Exception as err:  # one failed job must not hide the others' results
            traceback.print_exc()
            result = {"ok": False, "error": f"{type(err).__name__}: {err}", "trace": traceback.format_exc()[-3000:]}
            _free()
        print("RESULT " + json.dumps({"id": spec["id"], **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
