"""The model pool: adapters on a shared base give the right answers, LRU unloading, the picker's list."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from core.chat import GenerationSettings, chat_once
from core.models.catalog import ModelUnavailableError, load_trained_model
from core.models.pool import ModelPool, device_for_chat
from core.models.refs import default_pair, list_model_refs, model_refs_for, resolve_ref
from tests.run_folders import make_adapter, make_run

GREEDY = GenerationSettings(deterministic=True, max_new_tokens=10)
HELLO = [{"role": "user", "content": "Hello there"}]


def _answer(pool: ModelPool, ref: str, settings: GenerationSettings = GREEDY) -> str:
    with pool.use(ref) as loaded:
        return chat_once(loaded.model, loaded.tokenizer, HELLO, settings)


def _fresh_answer(folder: Path, settings: GenerationSettings = GREEDY) -> str:
    model, tokenizer = load_trained_model(folder)
    return chat_once(model, tokenizer, HELLO, settings)


def test_an_adapter_shares_its_loaded_base_and_both_answer_as_if_loaded_alone(tmp_path, tiny_model_path):
    adapter = make_adapter(tiny_model_path, tmp_path / "adapter")
    pool = ModelPool()
    base_before = _answer(pool, str(tiny_model_path))
    tuned = _answer(pool, str(adapter))
    base_after = _answer(pool, str(tiny_model_path))
    assert pool.loaded() == [str(tiny_model_path)]  # one copy of the base weights, the adapter on top
    assert pool.loaded_adapters(str(adapter)) == [str(adapter.resolve())]
    assert tuned != base_before
    assert base_after == base_before == _fresh_answer(tiny_model_path)
    assert tuned == _fresh_answer(adapter)


def test_two_adapters_on_one_base_each_give_their_own_answers(tmp_path, tiny_model_path):
    first = make_adapter(tiny_model_path, tmp_path / "first", seed=1)
    second = make_adapter(tiny_model_path, tmp_path / "second", seed=2)
    pool = ModelPool()
    answers = [_answer(pool, str(ref)) for ref in (first, second, first, tiny_model_path)]
    assert answers[0] == answers[2] == _fresh_answer(first)
    assert answers[1] == _fresh_answer(second)
    assert answers[3] == _fresh_answer(tiny_model_path)
    assert len(pool.loaded()) == 1


def test_least_recently_used_model_is_unloaded_beyond_two(tmp_path, tiny_model_path):
    copies = [shutil.copytree(tiny_model_path, tmp_path / name) for name in ("a", "b", "c")]
    a, b, c = (str(p) for p in copies)
    pool = ModelPool(max_loaded=2)
    for ref in (a, b, a, c):
        with pool.use(ref):
            pass
    assert pool.loaded() == [a, c]


def test_a_model_in_use_is_never_unloaded(tmp_path, tiny_model_path):
    a, b = (str(shutil.copytree(tiny_model_path, tmp_path / name)) for name in ("a", "b"))
    pool = ModelPool(max_loaded=1)
    with pool.use(a) as held:
        with pool.use(b):
            assert set(pool.loaded()) == {a, b}
        assert chat_once(held.model, held.tokenizer, HELLO, GREEDY) == _fresh_answer(Path(a))
    with pool.use(b):
        pass
    assert pool.loaded() == [b]


def test_concurrent_users_of_one_base_get_their_own_model(tmp_path, tiny_model_path):
    adapter = make_adapter(tiny_model_path, tmp_path / "adapter")
    expected = {str(tiny_model_path): _fresh_answer(tiny_model_path), str(adapter): _fresh_answer(adapter)}
    pool = ModelPool()
    results: list[tuple[str, str]] = []

    def worker(refs: list[str]) -> None:
        for ref in refs:
            results.append((ref, _answer(pool, ref)))

    refs = list(expected)
    threads = [threading.Thread(target=worker, args=(order,)) for order in (refs * 2, refs[::-1] * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(answer == expected[ref] for ref, answer in results)


def test_a_full_model_result_loads_as_a_model(tmp_path, tiny_model_path):
    full = shutil.copytree(tiny_model_path, tmp_path / "run" / "final")
    resolved = resolve_ref(str(full))
    assert resolved.adapter is None and resolved.base == str(full.resolve())


def test_refs_that_cannot_load_say_why(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailableError, match="config.json"):
        resolve_ref(str(tmp_path / "empty"))
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        resolve_ref("someone/some-model")


def test_the_picker_lists_bases_results_and_checkpoints_with_eval_loss(tmp_path, tiny_model_path):
    runs = tmp_path / "runs"
    run_dir = make_run(runs, tiny_model_path, checkpoint_eval_losses={2: 1.234, 4: None})
    partial = run_dir / "checkpoints" / "checkpoint-6"
    partial.mkdir()  # cut short: no trainer_state.json, so it is not offered
    refs = list_model_refs(runs)
    by_kind = {kind: [r for r in refs if r.kind == kind] for kind in ("base", "final", "checkpoint")}
    assert str(tiny_model_path) in [r.ref for r in by_kind["base"]]
    assert refs.index(by_kind["base"][-1]) < refs.index(by_kind["final"][0])
    (final,) = by_kind["final"]
    assert final.ref == str(run_dir / "final") and final.is_adapter and final.step == 4
    assert [c.step for c in by_kind["checkpoint"]] == [4, 2]
    assert by_kind["checkpoint"][1].eval_loss == pytest.approx(1.234)
    assert by_kind["checkpoint"][1].label.endswith("· checkpoint, step 2, eval loss 1.234")
    assert final.label.startswith("json-extraction · tiny-random-llama · ") and "final, step 4" in final.label
    assert default_pair(refs) == (str(tiny_model_path), str(run_dir / "final"))


def test_a_person_is_offered_their_own_runs_and_base_models_only(tmp_path, tiny_model_path):
    from core.runs.manager import RunManager

    runs = tmp_path / "runs"
    mine = make_run(runs, tiny_model_path, run_id="20261201-000001-mine")
    theirs = make_run(runs, tiny_model_path, run_id="20261201-000002-theirs")
    for run_dir, owner in ((mine, "ann"), (theirs, "bob")):
        state = json.loads((run_dir / "state.json").read_text())
        (run_dir / "state.json").write_text(json.dumps({**state, "owner": owner}))
    theirs_config = json.loads((theirs / "config.json").read_text())
    (theirs / "config.json").write_text(json.dumps({**theirs_config, "model_id": "/home/bob/private-model"}))
    refs = model_refs_for("ann", RunManager(runs))
    assert [r.ref for r in refs if r.kind == "final"] == [str(mine / "final")]
    assert all(r.run_id in (None, mine.name) for r in refs)
    assert "/home/bob/private-model" not in [r.ref for r in refs]  # another person's base model says whose it is
    carol = model_refs_for("carol", RunManager(runs))  # no runs: only the app's own base models
    assert carol and all(r.kind == "base" for r in carol)
    assert str(tiny_model_path) not in [r.ref for r in carol]  # ann's base folder is listed for ann only


def test_chat_moves_to_the_cpu_while_training_holds_the_gpu(monkeypatch):
    import torch

    assert device_for_chat(training_active=False)[0] == "cpu"  # this machine has no GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    device, reason = device_for_chat(training_active=True)
    assert device == "cpu" and "training run is using the GPU" in reason
    assert device_for_chat(training_active=False)[0] == "cuda"
