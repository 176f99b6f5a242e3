"""Jobs against the fake Hub on loopback (tests/fake_hub.py), through the real huggingface_hub client:
the hardware list and its prices, the estimate, a Job created, inspected, logged, measured and cancelled,
and its result downloaded."""

from __future__ import annotations

import json

import pytest

from core.config import RunConfig
from core.hf_jobs.follow import cancel_job, download_result, look_at_job
from core.hf_jobs.hardware import HardwareError, JobsHardware, estimate_job, list_hardware
from core.hf_jobs.submit import SCRIPT_VARIABLE, submit_recipe_job
from core.recipe import JOB_METRICS_FILE, export_recipe
from core.throughput import SMOLLM2_135M
from tests.devices import CPU
from tests.fake_hub import TOKEN, FakeJobs

SMOLLM2_CONFIG = {
    "num_hidden_layers": SMOLLM2_135M.layers, "hidden_size": SMOLLM2_135M.hidden,
    "intermediate_size": SMOLLM2_135M.intermediate, "num_attention_heads": SMOLLM2_135M.heads,
    "num_key_value_heads": SMOLLM2_135M.kv_heads, "vocab_size": SMOLLM2_135M.vocab,
}  # fmt: skip


@pytest.fixture()
def hub(fake_hub_url, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return fake_hub_url


def test_the_hardware_list_is_the_hubs_with_its_price_per_hour(hub):
    found = list_hardware(TOKEN)
    assert [hw.name for hw in found] == ["t4-small", "a10g-small", "a10g-largex4", "cpu-basic"]  # GPUs first
    a10g = found[1]
    assert (a10g.gpu, a10g.gpus, a10g.vram) == ("A10G", 1, "24 GB")
    assert a10g.price_per_hour == pytest.approx(1.0, abs=0.001)  # $0.016667 a minute
    assert a10g.label() == "Nvidia A10G - small · 24 GB · $1.00/h"


def test_offline_the_hardware_list_says_why(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HardwareError, match="HF_HUB_OFFLINE is set"):
        list_hardware(TOKEN)


def test_the_estimate_follows_the_gpus_speed_and_price():
    config = RunConfig(max_steps=1000)
    t4 = JobsHardware("t4-small", "Nvidia T4 - small", "T4", 1, "16 GB", 0.40)
    a10g = JobsHardware("a10g-small", "Nvidia A10G - small", "A10G", 1, "24 GB", 1.00)
    four = JobsHardware("a10g-largex4", "4x Nvidia A10G - large", "A10G", 4, "96 GB", 5.00)
    slow, fast, wide = (estimate_job(SMOLLM2_CONFIG, config, 88, hw) for hw in (t4, a10g, four))
    assert slow.tokens == fast.tokens == 1000 * config.effective_batch_size * 88
    assert fast.tokens_per_second == pytest.approx(slow.tokens_per_second * 125 / 65)  # the peaks' ratio
    assert fast.cost == pytest.approx(fast.hours * 1.00) and slow.hours > fast.hours
    assert wide.tokens_per_second == fast.tokens_per_second and wide.cost == pytest.approx(fast.hours * 5.00)
    assert "one of its 4 GPUs" in wide.describe() and "$" in fast.describe()
    unknown = estimate_job(SMOLLM2_CONFIG, config, 88, JobsHardware("x", "New GPU", "Z9", 1, "", 3.0))
    assert unknown.hours is None and "no time or cost" in unknown.describe() and unknown.suggested_timeout() == "2h"
    assert fast.suggested_timeout().endswith("m") and int(fast.suggested_timeout()[:-1]) >= 30


def test_a_job_is_created_followed_and_cancelled_without_the_token_in_sight(hub, tmp_path):
    recipe = export_recipe(RunConfig(), tmp_path / "recipe", CPU)
    sent = submit_recipe_job(recipe, "ann/data", "ann/model", token=TOKEN, flavor="t4-small", timeout="45m")
    spec = FakeJobs.jobs[sent.job_id]
    assert (spec["flavor"], spec["timeoutSeconds"]) == ("t4-small", 45 * 60)
    assert spec["environment"][SCRIPT_VARIABLE] == (recipe.folder / "train_sft.py").read_text()
    assert spec["secrets"] == {"HF_TOKEN": TOKEN} and spec["labels"]["sft-coach"] == "run"
    assert (sent.namespace, sent.output_repo, sent.flavor) == ("ann", "ann/model", "t4-small")
    assert "--flavor t4-small --timeout 45m" in sent.command

    assert look_at_job(sent.job_id, "ann", "ann/model", TOKEN).stage == "SCHEDULING"
    FakeJobs.set_stage(sent.job_id, "RUNNING")
    FakeJobs.add_logs(sent.job_id, "Installed 61 packages", f"token {TOKEN} must never show", "step 2")
    rows = [{"step": 1, "loss": 2.5, "max_steps": 4}, {"step": 2, "loss": 2.1, "max_steps": 4}]
    FakeJobs.push_file("ann/model", JOB_METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows).encode())
    seen = look_at_job(sent.job_id, "ann", "ann/model", TOKEN)
    assert seen.stage == "RUNNING" and seen.rows == rows and seen.log_lines[-1] == "step 2"
    assert seen.gpu_text() == "GPU 87 % busy, 14.2 of 24.0 GB"
    assert TOKEN not in repr(seen)

    cancel_job(sent.job_id, "ann", TOKEN)
    assert FakeJobs.cancels == [sent.job_id] and look_at_job(sent.job_id, "ann", None, TOKEN).ended
    with pytest.raises(Exception, match="Could not read the Job nope") as caught:
        look_at_job("nope", "ann", None, TOKEN)
    assert TOKEN not in str(caught.value)


def test_the_result_is_downloaded_whole_without_the_metrics(hub, tmp_path):
    files = {"adapter_config.json": b'{"r": 8}', "adapter_model.safetensors": b"\0" * 64, JOB_METRICS_FILE: b"{}\n"}
    for path, data in files.items():
        FakeJobs.push_file("ann/model", path, data)
    final = download_result("ann/model", tmp_path / "final", TOKEN)
    got = {str(p.relative_to(final)): p.read_bytes() for p in final.rglob("*") if p.is_file()}
    assert got == {k: v for k, v in files.items() if k != JOB_METRICS_FILE}
    with pytest.raises(Exception, match="Could not download the result from ann/missing"):
        download_result("ann/missing", tmp_path / "other", TOKEN)
    assert not (tmp_path / "other").exists()


def test_the_exported_scripts_pushes_are_what_the_app_reads(hub, tmp_path, monkeypatch):
    """The script's PushMetrics callback, run against the fake Hub: its rows come back through look_at_job."""
    import runpy
    from types import SimpleNamespace

    recipe = export_recipe(RunConfig(), tmp_path / "recipe", CPU)
    script = runpy.run_path(str(recipe.folder / "train_sft.py"), run_name="exported_script")  # main() not run
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # as the Job's secret
    pusher = script["PushMetrics"]("ann/model")
    state = SimpleNamespace(global_step=1, max_steps=4, is_world_process_zero=True)
    pusher.on_log(None, state, None, logs={"loss": 2.5, "learning_rate": 1e-4, "note": "text is left out"})
    state.global_step = 2
    pusher.on_log(None, state, None, logs={"loss": 2.0})  # within the minute: kept, pushed at the end
    sent = submit_recipe_job(recipe, "ann/data", "ann/model", token=TOKEN)
    FakeJobs.set_stage(sent.job_id, "RUNNING")
    assert [row["loss"] for row in look_at_job(sent.job_id, "ann", "ann/model", TOKEN).rows] == [2.5]
    pusher.on_train_end(None, state, None)
    rows = look_at_job(sent.job_id, "ann", "ann/model", TOKEN).rows
    assert [(r["step"], r["loss"], r["max_steps"]) for r in rows] == [(1, 2.5, 4), (2, 2.0, 4)]
    assert "note" not in rows[0]
