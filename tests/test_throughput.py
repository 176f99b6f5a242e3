"""Training FLOPs per token and tokens/s at a given MFU, checked against values worked out by hand."""

from __future__ import annotations

import json

import pytest

from core.config import RunConfig
from core.throughput import (
    SMOLLM2_1_7B,
    SMOLLM2_135M,
    SMOLLM3_3B,
    MeasuredThroughput,
    ModelShape,
    attention_flops_per_token,
    hours_for_tokens,
    lora_params,
    measured_throughput,
    tokens_per_second,
    training_flops_per_token,
)

# A toy model small enough to count by hand: 2 layers, hidden 8, MLP 16, 2 heads of width 4, 1 KV head, vocab 10.
TOY = ModelShape("toy", layers=2, hidden=8, intermediate=16, heads=2, kv_heads=1, vocab=10)


def test_matmul_params_by_hand():
    # Per layer: q 8x8=64, k 8x4=32, v 8x4=32, o 8x8=64 (192); gate/up 8x16=128 each, down 16x8=128 (384).
    # Two layers: 1152; LM head 8x10 = 80. N = 1232.
    assert TOY.matmul_params == 1232


def test_full_fine_tune_flops_by_hand():
    # 6N = 7392; attention 12 * L * H * Q * T = 12 * 2 * (2 * 4) * 4 = 768.
    assert attention_flops_per_token(TOY, seq_len=4) == 768
    assert training_flops_per_token(TOY, seq_len=4, method="full") == 7392 + 768


def test_lora_flops_by_hand():
    # r=2 adapters per layer: q 2*(8+8)=32, k 2*(8+4)=24, v 24, o 32, gate 2*(8+16)=48, up 48, down 48 -> 256.
    assert lora_params(TOY, rank=2, target="all-linear") == 512
    assert lora_params(TOY, rank=2, target="attention") == 224
    # 4N (frozen base: forward + activation gradients) + 6 * N_lora + attention.
    assert training_flops_per_token(TOY, 4, "lora", lora_rank=2) == 4 * 1232 + 6 * 512 + 768
    assert training_flops_per_token(TOY, 4, "lora", lora_rank=2, lora_target="attention") == 4928 + 6 * 224 + 768
    assert training_flops_per_token(TOY, 4, "qlora", lora_rank=2) == training_flops_per_token(TOY, 4, "lora", 2)


def test_gradient_checkpointing_adds_a_forward_pass():
    full = training_flops_per_token(TOY, 4, "full")
    # +2N for the matmuls and the attention forward (4 * L * H * Q * T = 256) again.
    assert training_flops_per_token(TOY, 4, "full", recompute=True) == full + 2 * 1232 + 256
    lora = training_flops_per_token(TOY, 4, "lora", lora_rank=2)
    assert training_flops_per_token(TOY, 4, "lora", lora_rank=2, recompute=True) == lora + 2 * 1232 + 2 * 512 + 256


def test_checkpointing_costs_about_a_third_more_for_a_full_fine_tune():
    base = training_flops_per_token(SMOLLM2_1_7B, 2048, "full")
    ratio = training_flops_per_token(SMOLLM2_1_7B, 2048, "full", recompute=True) / base
    assert ratio == pytest.approx(4 / 3, abs=0.01)


def test_published_shapes_give_the_published_sizes():
    # Tied embeddings: the LM head is the embedding matrix, so N plus the (tiny) norms is the parameter count.
    assert SMOLLM3_3B.matmul_params == pytest.approx(3.08e9, rel=0.01)
    assert SMOLLM2_1_7B.matmul_params == pytest.approx(1.71e9, rel=0.01)
    assert SMOLLM2_135M.matmul_params == pytest.approx(134.5e6, rel=0.01)
    assert SMOLLM3_3B.kv_dim == 512  # 4 KV heads of width 128: grouped-query attention


def test_smollm2_1_7b_full_fine_tune_on_an_h100_by_hand():
    # N = 24 * (4 * 2048^2 + 3 * 2048 * 8192) + 2048 * 49152 = 1,711,276,032.
    # 6N = 10,267,656,192; attention 12 * 24 * 2048 * 2048 = 1,207,959,552; total 11,475,615,744.
    flops = training_flops_per_token(SMOLLM2_1_7B, 2048, "full")
    assert flops == 11_475_615_744
    # 30% of 989 TFLOP/s = 296.7 TFLOP/s -> 25,855 tokens/s.
    assert tokens_per_second(flops, mfu=0.3) == pytest.approx(0.3 * 989e12 / 11_475_615_744)
    assert tokens_per_second(flops, mfu=0.3) == pytest.approx(25_855, rel=1e-3)
    assert hours_for_tokens(1e6, 25_855) == pytest.approx(1e6 / 25_855 / 3600)


def test_lora_costs_about_two_thirds_of_a_full_fine_tune():
    full = training_flops_per_token(SMOLLM3_3B, 2048, "full")
    lora = training_flops_per_token(SMOLLM3_3B, 2048, "lora", lora_rank=16)
    assert 0.66 < lora / full < 0.72


def test_shape_read_from_a_real_config_matches_the_model(tiny_model_path):
    from transformers import AutoModelForCausalLM

    config = json.loads((tiny_model_path / "config.json").read_text())
    shape = ModelShape.from_config(config, name="tiny")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path)
    linear = sum(m.weight.numel() for m in model.modules() if m.__class__.__name__ == "Linear")
    assert shape.matmul_params == linear  # every nn.Linear, LM head included


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="MFU"):
        tokens_per_second(1e9, mfu=0)
    with pytest.raises(ValueError, match="Method"):
        training_flops_per_token(TOY, 4, "prefix")
    with pytest.raises(ValueError, match="LoRA target"):
        lora_params(TOY, 2, "mlp")


def _write_run(runs, run_id: str, model_id: str, method: str, step_seconds: list[float], start: float = 1000.0):
    """A run folder as core/runs/store.py writes it: config.json and one metrics.jsonl line per logged step."""
    folder = runs / run_id
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(RunConfig(model_id=model_id, method=method).to_dict()))
    lines, now, tokens = [], start, 0
    for step, seconds in enumerate(step_seconds, start=1):
        now += seconds
        tokens += 400  # 4 rows of ~100 tokens per step
        lines.append(json.dumps({"step": step, "time": now, "num_tokens": tokens, "loss": 2.0}))
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")


def test_the_most_recent_matching_run_gives_the_measured_throughput(tmp_path):
    runs = tmp_path / "runs"
    # The first step (loading, first allocations) and a step that also generated samples are slow: ignored.
    _write_run(runs, "older", "model-a", "lora", [30, 4, 4, 4, 4], start=1000)
    _write_run(runs, "newer", "model-a", "lora", [30, 2, 2, 9, 2, 2], start=5000)
    _write_run(runs, "full-run", "model-a", "full", [30, 1, 1, 1, 1], start=9000)  # another method
    _write_run(runs, "other-model", "model-b", "lora", [30, 1, 1, 1, 1], start=9000)
    _write_run(runs, "too-short", "model-a", "lora", [30, 1, 1], start=9900)  # a warm-up still under way
    measured = measured_throughput(runs, "model-a", "lora")
    assert measured.run_id == "newer"
    assert measured.tokens_per_second == pytest.approx(200.0)  # median of 400 tokens / [2, 9, 2, 2] s
    assert measured.steps == 4
    assert measured_throughput(runs, "model-a", "qlora") is None
    assert measured_throughput(tmp_path / "nothing-here", "model-a", "lora") is None


def test_a_run_is_read_again_only_once_its_metrics_change(tmp_path, monkeypatch):
    from core.runs.store import RunFolder

    runs = tmp_path / "runs"
    _write_run(runs, "run", "model-a", "lora", [30, 2, 2, 2, 2])  # 1,038 s and 2,000 tokens at step 5
    reads = []
    real = RunFolder.read_rows
    monkeypatch.setattr(RunFolder, "read_rows", lambda folder, kind: reads.append(kind) or real(folder, kind))
    first = measured_throughput(runs, "model-a", "lora")
    assert measured_throughput(runs, "model-a", "lora") == first and len(reads) == 1  # every page asks; read once
    with open(runs / "run" / "metrics.jsonl", "a") as metrics:  # the run goes on, twice as fast
        for step in range(6, 11):
            metrics.write(json.dumps({"step": step, "time": 1033.0 + step, "num_tokens": 400 * step, "loss": 2.0}))
            metrics.write("\n")
    later = measured_throughput(runs, "model-a", "lora")
    assert len(reads) == 2 and first.tokens_per_second == pytest.approx(200.0)
    assert later.tokens_per_second == pytest.approx(400.0) and later.steps == 8


def test_the_time_estimate_uses_a_measured_throughput_and_says_where_it_came_from():
    from core.memory import estimate_time
    from tests.devices import CPU
    from tests.model_configs import SMOLLM2

    config = RunConfig()  # batch 4 x 1
    reference = estimate_time(SMOLLM2, config, CPU, 100, 60)
    assert "measured with this app" in reference.explanation and "no run of this model" in reference.explanation
    measured = MeasuredThroughput(tokens_per_second=200.0, run_id="20261123-120000-abc", steps=12, finished_at=0)
    timed = estimate_time(SMOLLM2, config, CPU, 100, 60, measured)
    assert timed.seconds_per_step == pytest.approx(2.0)  # 4 rows x 100 tokens / 200 tokens/s
    assert timed.seconds == pytest.approx(120.0)
    assert "measured on this machine by an earlier run of the same model" in timed.explanation
    assert "20261123-120000-abc" not in timed.explanation  # on a shared Space that run may be another person's
    assert "sft-facts" not in timed.explanation
    # A measured figure also gives a GPU an estimate, where no reference exists.
    from tests.devices import A10G

    assert estimate_time(SMOLLM2, config, A10G, 100, 60).seconds is None
    assert estimate_time(SMOLLM2, config, A10G, 100, 60, measured).seconds == pytest.approx(120.0)
