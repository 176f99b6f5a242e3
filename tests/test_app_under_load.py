"""Load: many people on the app while one run trains (bench/bench_load.py, briefly, with the tiny model).

Asserts what must hold under any load, never timings: no request fails, every started run is still
listed afterwards, every queued run is shown its place in line, and nothing keeps training at the end
(SECURITY.md, "Load"). The latencies and memory it prints are figures for bench/, not pass marks.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests import ROOT


def _bench_load():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "bench_load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_ten_sessions_while_a_run_trains_lose_nothing(tiny_model_path, capsys):
    bench = _bench_load()
    report = bench.run_load_test(sessions=10, seconds=20, tiny=True)
    with capsys.disabled():
        bench.print_report(report, 10, 20, tiny=True)
    tally = report.tally
    assert tally.errors == []
    assert len(tally.started_runs) == 3  # the training run, and one queued by each fifth session
    assert report.lost == []
    assert report.without_place == []
    assert report.still_active == []
    assert report.phases[tally.started_runs[0]] == "stopped"  # stopped at the end, after training under load
    assert all(report.phases[run] == "cancelled" for run in tally.queued_runs)
    assert tally.latencies["preview"] and tally.latencies["poll"]  # the sessions did upload, preview and poll
    assert report.traceback_in_log == ""
