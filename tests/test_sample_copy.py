"""The copy that answers the sample prompts (core/sample_copy.py) carries the weights training has reached."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _base(path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)


def _lora(path, **extra):
    """A LoRA model as SFTTrainer prepares it: TRL's fused LM head patched in, then PEFT wrapped around."""
    from peft import LoraConfig, get_peft_model
    from trl.trainer.utils import add_fused_lm_head

    base = _base(path)
    add_fused_lm_head(base)  # replaces ``forward`` on the instance, the original kept in a closure
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM", **extra)
    return get_peft_model(base, config)


def _step(model, seed: int, trainable_only: bool = True) -> None:
    """A stand-in for an optimizer step: every trained weight moves."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad or not trainable_only:
                param.add_(torch.randn(param.shape, generator=generator) * 0.05)


def _logits(model, ids):
    was = model.training
    model.eval()
    with torch.no_grad():
        out = model(ids).logits.float()
    model.train(was)
    return out


IDS = torch.tensor([[1, 5, 9, 42, 7, 3, 88, 12]])


def test_a_lora_runs_copy_answers_with_the_adapters_merged_and_follows_each_step(tiny_model_path):
    from core.sample_copy import SampleCopy

    live = _lora(tiny_model_path)
    _step(live, 1)
    copy = SampleCopy(live, dtype=torch.float32)  # float32: only the merging is checked here
    assert not hasattr(copy.model, "peft_config")  # one plain layer per weight, no adapter path
    torch.testing.assert_close(_logits(copy.refresh(live), IDS), _logits(live, IDS), atol=1e-4, rtol=1e-4)
    _step(live, 2)
    assert not torch.allclose(_logits(copy.model, IDS), _logits(live, IDS), atol=1e-3)  # stale until refreshed
    torch.testing.assert_close(_logits(copy.refresh(live), IDS), _logits(live, IDS), atol=1e-4, rtol=1e-4)


def test_a_full_fine_tunes_copy_follows_every_weight(tiny_model_path):
    from core.sample_copy import SampleCopy

    live = _base(tiny_model_path)
    copy = SampleCopy(live, dtype=torch.float32)
    _step(live, 3, trainable_only=False)
    torch.testing.assert_close(_logits(copy.refresh(live), IDS), _logits(live, IDS), atol=1e-4, rtol=1e-4)


def test_the_bf16_copy_rounds_only_its_own_weights(tiny_model_path):
    from transformers import AutoTokenizer

    from core.generation import generate_answers
    from core.sample_copy import SampleCopy

    live = _lora(tiny_model_path)
    live.train()
    _step(live, 4)
    before = {name: p.detach().clone() for name, p in live.named_parameters()}
    copy = SampleCopy(live)
    model = copy.refresh(live)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert all(b.dtype == torch.float32 for b in model.buffers() if b.is_floating_point())  # rotary frequencies
    assert live.training and {p.dtype for p in live.parameters()} == {torch.float32}
    assert all(torch.equal(before[name], p) for name, p in live.named_parameters())  # training is untouched
    difference = (_logits(model, IDS) - _logits(live, IDS)).abs().max().item()
    assert 0 < difference < 0.05 * _logits(live, IDS).abs().max().item()  # bf16 rounding, not other weights
    assert not any(m._forward_pre_hooks or m._forward_hooks or "forward" in m.__dict__ for m in model.modules())
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    answers = generate_answers(model, tokenizer, [[{"role": "user", "content": "Hi"}]] * 2, 8).answers
    assert len(answers) == 2


def test_which_models_get_a_copy(tiny_model_path, monkeypatch):
    from core import sample_copy
    from core.sample_copy import sampling_model, wanted

    live = _lora(tiny_model_path)
    monkeypatch.setattr(sample_copy, "_cpu_bf16", lambda: True)
    assert wanted(live)
    answering, kept = sampling_model(live, None)
    assert answering is kept.model and next(answering.parameters()).dtype == torch.bfloat16
    assert sampling_model(live, kept)[1] is kept  # built once per run, refreshed at the next points
    assert not wanted(_lora(tiny_model_path, use_dora=True))  # DoRA merges through a magnitude vector
    assert not wanted(_base(tiny_model_path).to(torch.bfloat16))  # already half the bytes
    assert not wanted(None)
    monkeypatch.setattr(sample_copy, "_cpu_bf16", lambda: False)  # a CPU without bf16 arithmetic: emulated, slower
    assert not wanted(live) and sampling_model(live, None) == (live, None)
    monkeypatch.setattr(sample_copy, "_cpu_bf16", lambda: True)
    monkeypatch.setenv("SFT_COACH_SAMPLE_BF16", "0")
    assert not wanted(live) and not sample_copy.used_on("cpu")


def test_the_step_0_answers_of_a_copy_and_of_the_model_are_kept_apart(tmp_path):
    from core.config import RunConfig
    from core.device import DeviceInfo
    from core.runs.train import RunInputs

    class Tokenizer:
        chat_template = "t"

    (tmp_path / "model").mkdir()
    inputs = RunInputs(str(tmp_path / "model"), Tokenizer(), None, [{"messages": [{"role": "user", "content": "Hi"}]}])
    cpu, gpu = DeviceInfo("cpu", "CPU", 24, False, 2), DeviceInfo("cuda", "GPU", 80, True, 8)
    with_copy = inputs.baseline(RunConfig(), cpu, "bfloat16")
    assert inputs.baseline(RunConfig(), cpu, "") != with_copy
    assert inputs.baseline(RunConfig(), gpu, "bfloat16") != with_copy
    assert inputs.baseline(RunConfig(), cpu, "bfloat16") == with_copy
