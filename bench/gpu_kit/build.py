"""What the check trains on, built here: random-weight models of a published shape, and rows of known lengths.

Nothing comes from the Hub: a model is its ``config.json`` shape (``core/throughput.py``) with random weights
around the offline SmolLM2 tokenizer, saved as a local model folder the app opens like any other. Random weights
are fine for speed and memory (the same matmuls); their loss starts at ~ln(vocab) and falls fast, which is all the
path check asks of it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from core.throughput import ModelShape

WORDS = (
    "the model learns to answer in the format that the examples show and nothing else while a person reads each "
    "reply checks the fields counts the tokens and writes down what changed between one step and the next because "
    "small data sets train quickly on one machine with a single GPU"
).split()


def find_tokenizer(given: str | None, pack: Path) -> Path:
    """The SmolLM2 tokenizer folder: ``--tokenizer``, the pack's, or the app's offline model (if installed)."""
    if given:
        return Path(given)
    if (pack / "tokenizer" / "tokenizer.json").is_file():
        return pack / "tokenizer"
    from core.models.catalog import ensure_offline_model, gguf_path, offline_model_dir

    if (offline_model_dir() / "tokenizer.json").is_file() or gguf_path() is not None:
        return ensure_offline_model()
    raise SystemExit(
        f"No SmolLM2 tokenizer here: not in {pack / 'tokenizer'} and the offline model package is not installed. "
        "Make the pack with 'bash bench/gpu_kit_pack.sh' on a machine with a registry, or pass --tokenizer FOLDER."
    )


def build_model(shape: ModelShape, tokenizer_dir: Path, folder: Path, on_gpu: bool) -> Path:
    """A Llama of ``shape`` with random weights and the SmolLM2 tokenizer, saved in ``folder`` (once)."""
    if (folder / "model-complete").is_file():
        return folder
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    if len(tokenizer) != shape.vocab:
        raise ValueError(f"The tokenizer in {tokenizer_dir} has {len(tokenizer)} tokens, {shape.name} {shape.vocab}.")
    config = LlamaConfig(
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        head_dim=shape.head_dim or shape.hidden // shape.heads,
        max_position_embeddings=8192,
        tie_word_embeddings=True,  # as every SmolLM2 size
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    with torch.device("cuda" if on_gpu else "cpu"):  # initialising 1.7B weights on the GPU takes a second
        model = LlamaForCausalLM(config)
    model.to(torch.bfloat16 if on_gpu else torch.float32)
    model.config.name_or_path = f"random-{shape.name}"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    if on_gpu:
        torch.cuda.empty_cache()
    (folder / "model-complete").write_text("ok\n")
    return folder


def text_of_tokens(tokenizer, tokens: int, rng: random.Random) -> str:
    """Plain text of about ``tokens`` SmolLM2 tokens (common words are one token each, with their space)."""
    words = [rng.choice(WORDS) for _ in range(tokens)]
    text = " ".join(words)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:tokens]
    return tokenizer.decode(ids)


def write_speed_data(tokenizer, folder: Path, rows: int, shortest: int, longest: int, seed: int = 0) -> Path:
    """A dataset folder of plain-text rows of ``shortest``-``longest`` tokens (uniform): padding to a batch's longest
    row costs what packing saves. ``test.jsonl`` holds a few rows, so the app trains on every row of
    ``train.jsonl``, as plain TRL does."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, count in (("train.jsonl", rows), ("test.jsonl", 4)):
        with (folder / name).open("w") as handle:
            for _ in range(count):
                text = text_of_tokens(tokenizer, rng.randint(shortest, longest), rng)
                handle.write(json.dumps({"text": text}) + "\n")
    return folder


def long_rows(tokenizer, length: int, count: int, seed: int = 0) -> list[dict]:
    """Rows longer than ``length`` tokens, so every row is cut to ``max_length``: the memory estimate's worst case."""
    rng = random.Random(seed)
    return [{"text": text_of_tokens(tokenizer, length + 16, rng)} for _ in range(count)]


def write_path_data(folder: Path, rows: int) -> Path:
    """The first ``rows`` rows of the built-in JSON-extraction demo as the app converts them (and 8 of its test
    rows): the path runs train what the demo trains, without tokenising its 1,000 rows in every worker."""
    from core.data.prepare import load_demo_rows

    train, test, _ = load_demo_rows("json_extraction")
    folder.mkdir(parents=True, exist_ok=True)
    for name, chosen in (("train.jsonl", train[:rows]), ("test.jsonl", test[:8])):
        with (folder / name).open("w") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in chosen)
    return folder
