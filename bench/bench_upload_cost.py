"""What one upload costs the server: the hostile files of issue 14 next to a normal 5 MB file, each in a fresh process.

    .venv/bin/python bench/bench_upload_cost.py [--before REV] [--timeout 180] [--only normal deep]

The corpus is built in a temporary folder: a normal 5 MB JSONL of conversations; a Parquet file of 1,000,000
tiny rows (a few KB); a JSONL holding one 50 MB line; a JSON list nested 100,000 deep; a JSON list of 10
million empty objects (30 MB). Each file goes through the Data step's own code, as an upload does after it
is saved: ``load_file`` (origin "uploaded file") -> ``draft_dataset`` and the HTML of sections 1-5
(``draft_updates``) -> the tokenizer check of every row with the default model (``check_dataset``) and its
HTML (``check_updates``); a refusal becomes the sentence the page shows (``refused``, the built-in demo
staying in place). Copying the upload into its folder is left out: it costs disk, not memory.

Each case runs in a fresh subprocess that first imports everything and loads the tokenizer and the demo
(what a running server holds already); its RSS then is the baseline. The child reads its kernel peak
(``VmHWM``, reset with ``clear_refs`` after the baseline, Linux) after each stage; the parent reads it too
when a case runs past ``--timeout`` and stops it. Printed per case: peak RSS increase over the baseline,
RSS kept at the end, bytes of HTML the page would receive, seconds, and the message shown. ``--before REV``
runs the same cases on that git revision's files (``git archive``, this venv) first, side by side.
"""

from __future__ import annotations

import argparse
import gc
import html
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20
CASES = {
    "normal": ("normal.jsonl", "a normal 5 MB JSONL of conversations (comparison)"),
    "million": ("million.parquet", "Parquet of 1,000,000 tiny rows"),
    "long_line": ("long_line.jsonl", "JSONL with one 50 MB line"),
    "deep": ("deep.json", "JSON nested 100,000 deep"),
    "tiny_objects": ("tiny_objects.json", "JSON list of 10,000,000 empty objects"),
}


def build_corpus(folder: Path) -> None:
    """The upload-cost corpus of issue 14, plus the normal file to compare with."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with (folder / "normal.jsonl").open("w") as handle:
        i = 0
        while handle.tell() < 5 * MB:
            question = f"Question {i}: how do I sort a list of {i % 97} numbers in Python? " * 3
            answer = f"Use sorted(numbers) or numbers.sort(); here is why, step {i}. " * 10
            turns = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            handle.write(json.dumps({"messages": turns}) + "\n")
            i += 1
    pq.write_table(pa.table({"text": ["hello world"] * 1_000_000}), folder / "million.parquet")
    (folder / "long_line.jsonl").write_text(json.dumps({"text": "word " * 10_000_000}) + "\n")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "tiny_objects.json").write_text("[" + ",".join(["{}"] * 10_000_000) + "]")


def _vm_hwm(pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("No VmHWM in /proc/<pid>/status: this bench needs Linux.")


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _html_bytes(updates: list) -> int:
    """Bytes of the HTML and text outputs an event sends to the page (gradio's updates carry their own)."""
    total = 0
    for update in updates:
        if isinstance(update, str):
            total += len(update.encode())
        elif isinstance(update, dict):
            total += sum(len(v.encode()) for v in update.values() if isinstance(v, str))
    return total


def child(spec: dict) -> None:
    """One case, in this fresh process; prints one JSON line per stage."""
    sys.path.insert(0, spec["root"])
    os.chdir(spec["root"])
    import gradio  # noqa: F401  (the server has it loaded)

    from core.config import RunConfig
    from core.data.errors import DataError
    from core.data.load import load_demo, load_file
    from core.data.wizard import cached_tokenizer, check_dataset, draft_dataset
    from ui.data_outputs import DEFAULT_DEMO, check_updates, draft_updates, load_message, model_max_length, refused

    def say(**fields) -> None:
        fields.update(peak=_vm_hwm(), rss=_rss(), seconds=time.perf_counter() - started)
        print(json.dumps(fields), flush=True)

    def attempt(work):
        """(result, None), or (None, (message, html)) when it raised: the error is gone once this returns."""
        try:
            return work(), None
        except (Exception, RecursionError) as err:  # noqa: BLE001 - every failure is a result here
            if isinstance(err, DataError):  # the sentence on the page and in the toast (ui/data_outputs.refused)
                page = refused(err, initial, name, 13)[1]
                return None, (html.unescape(re.sub("<[^>]+>", "", page)), page)
            page = f"(uncaught {type(err).__name__}) {str(err)[:300]}"  # Gradio shows it in a red toast
            return None, (page, page)

    def refusal(stage: str, failure: tuple[str, str]) -> None:
        gc.collect()  # what the server keeps after the event: the refused rows are garbage by now
        say(stage=stage, message=failure[0], html=len(failure[1].encode()), done=True)

    model_id = RunConfig().model_id
    tokenizer = cached_tokenizer(model_id)
    initial = draft_dataset(load_demo(DEFAULT_DEMO), DEFAULT_DEMO)
    path, name = Path(spec["path"]), Path(spec["path"]).name
    gc.collect()
    print(json.dumps({"stage": "baseline", "rss": _rss()}), flush=True)
    Path("/proc/self/clear_refs").write_text("5")  # the peak from here on is the case's
    started = time.perf_counter()
    loaded, failure = attempt(lambda: load_file(path, name, origin="uploaded file"))
    if failure:
        return refusal("load", failure)
    say(stage="load", rows=loaded.n_rows)
    drafted, failure = attempt(lambda: (d := draft_dataset(loaded, path.stem), draft_updates(d, load_message(d))))
    if failure:
        return refusal("draft", failure)
    draft, sent = drafted[0], _html_bytes(drafted[1])
    say(stage="draft", html=sent)
    model_length = model_max_length(model_id)
    checked, failure = attempt(lambda: (r := check_dataset(draft, tokenizer, model_max_length=model_length), r))
    if failure:
        return refusal("check", failure)
    updates, failure = attempt(lambda: check_updates(checked[1], tokenizer))
    if failure:
        return refusal("check", failure)
    say(stage="check", html=sent + _html_bytes(updates), message=checked[1].report.summary(), done=True)


def run_case(root: Path, path: Path, timeout: float) -> dict:
    """Run one case in a fresh process; the last stage it reached, with the peak over its baseline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "MALLOC_ARENA_MAX": "2"}
    spec = json.dumps({"root": str(root), "path": str(path)})
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        env.update(TMPDIR=tmp, SFT_COACH_DATA=str(Path(tmp) / "data"))
        with (Path(tmp) / "stderr.txt").open("w+b") as stderr:
            process = subprocess.Popen(
                [sys.executable, __file__, "--child", spec], stdout=subprocess.PIPE, stderr=stderr, env=env
            )
            lines: list[dict] = []
            for raw in process.stdout:  # ends when the child exits, or when the watchdog stops it
                lines.append(json.loads(raw))
                if lines[-1]["stage"] == "baseline":
                    _stop_at(process, time.monotonic() + timeout, lines)
            process.wait()
            stderr.seek(0)
            if not lines or lines[0]["stage"] != "baseline" or not lines[-1].get("done", lines[-1].get("timed_out")):
                raise RuntimeError(f"{path.name}: the child failed:\n{stderr.read().decode()[-3000:]}")
    baseline, last = lines[0]["rss"], lines[-1]
    stages = " -> ".join(line["stage"] for line in lines[1:])
    return {"baseline": baseline, "stages": stages, **last, "peak_increase": last["peak"] - baseline}


def _stop_at(process: subprocess.Popen, deadline: float, lines: list[dict]) -> None:
    """A watchdog thread: past the deadline, note the child's peak and where it was, then stop it."""
    import threading

    def watch() -> None:
        while process.poll() is None:
            if time.monotonic() > deadline:
                peak = _vm_hwm(str(process.pid))
                stage = lines[-1]["stage"] if lines else "baseline"
                lines.append({"stage": f"{stage} + still running", "peak": peak, "rss": peak, "timed_out": True})
                lines[-1]["message"] = "(stopped by the bench: still working after the timeout)"
                process.kill()
                return
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


def report(name: str, result: dict, timeout: float) -> str:
    seconds = f"> {timeout:.0f}" if result.get("timed_out") else f"{result.get('seconds', 0):.1f}"
    message, kept = result.get("message", ""), result["rss"] - result["baseline"]
    return (
        f"| {CASES[name][1]} | {result['peak_increase'] / MB:,.0f} MB | {kept / MB:,.0f} MB | "
        f"{result.get('html', 0) / 1024:,.1f} KB | {seconds} s | {result['stages']} | {message[:160]} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="also run the cases on this git revision, side by side")
    parser.add_argument("--timeout", type=float, default=180, help="seconds a case may run after its baseline")
    parser.add_argument("--only", nargs="*", choices=list(CASES), help="cases to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    names = args.only or list(CASES)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory(prefix="bench-upload-corpus-") as corpus, tempfile.TemporaryDirectory() as rev:
        build_corpus(Path(corpus))
        roots = {"this tree": ROOT}
        if args.before:  # the revision's files only (git archive): nothing in this working tree changes
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", rev], input=archive.stdout, check=True)
            roots = {args.before: Path(rev), **roots}
        for label, root in roots.items():
            print(f"\n## {label}\n")
            print("| file | peak RSS increase | RSS kept | HTML to the page | time | stages | message shown |")
            print("|---|---|---|---|---|---|---|")
            for name in names:
                path = Path(corpus) / CASES[name][0]
                load = os.getloadavg()[0]
                result = run_case(root, path, args.timeout)
                print(report(name, result, args.timeout) + f" <!-- {path.stat().st_size / MB:,.2f} MB file, "
                      f"load {load:.2f} -->", flush=True)  # fmt: skip
                if len(result.get("message", "")) > 160:
                    print(f"  - full message: {result['message']}", flush=True)


if __name__ == "__main__":
    main()
