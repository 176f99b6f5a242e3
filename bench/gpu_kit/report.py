"""The check's results as the tables it prints (Markdown, to paste into bench/RESULTS.md)."""

from __future__ import annotations


def failures(results: dict) -> list[str]:
    """What did not pass, among the parts that ran (skipped rows are not failures: they say why)."""
    rows = results.get("paths", []) + results.get("memory", [])
    failed = [r.get("path") or r.get("case") for r in rows if not r.get("skipped") and not r.get("ok")]
    failed += [f"speed: {r['run']} {r['batching']}" for r in results.get("speed", []) if "tokens_per_s" not in r]
    if "chat" in results and not results["chat"].get("ok"):
        failed.append("chat")
    return failed


def render(results: dict, plan, tolerance: tuple[float, float]) -> str:
    """Every table of the check, with the machine and the load average (other work slows every figure)."""
    machine = results["machine"]
    lines = [f"\n# GPU check on {machine['device']} ({plan.sizes} sizes), {machine['date']}"]
    start, end = results["load_average_start"], results["load_average_end"]
    lines.append(f"load average {start} at the start, {end} at the end (1, 5, 15 minutes)")
    if "paths" in results:
        lines += ["", "## Training paths (the app's worker)", "", *paths_table(results["paths"])]
    if "speed" in results:
        title = f"## Speed: {plan.speed_shape.name}-shaped, LoRA r16, length {plan.speed_length}"
        title += f", batch {plan.speed_batch}, {plan.speed_steps} steps"
        lines += ["", title, "", *speed_table(results["speed"])]
    if "memory" in results:
        lines += ["", "## Memory: estimate vs measured", "", *memory_table(results["memory"], tolerance)]
    if "chat" in results:
        lines += ["", f"## Chat, greedy, {plan.chat_tokens} new tokens", "", *chat_table(results["chat"])]
    verdict = "ok" if results["ok"] else f"FAILED: {results['failed']}"
    lines += ["", f"seconds: {results['seconds']}", f"result: {verdict}"]
    return "\n".join(lines)


def _cell(text) -> str:
    """Text fit for one cell of a Markdown table: one line, no column bars, not a page long."""
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= 160 else text[:157] + "..."


def _num(value, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def _status(row: dict) -> str:
    if row.get("skipped"):
        return f"skipped: {_cell(row['skipped'])}"
    return "ok" if row.get("ok") else "**FAILED**"


def paths_table(rows: list[dict]) -> list[str]:
    lines = [
        "| path | result | steps | loss first → last | finite, falling | checkpoint | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("skipped"):
            lines.append(f"| {r['path']} | {_status(r)} | | | | | |")
            continue
        losses = r.get("losses") or []
        loss = f"{losses[0]:.3f} → {losses[-1]:.3f}" if losses else "-"
        checks = f"{'yes' if r.get('finite') else 'NO'}, {'yes' if r.get('falling') else 'NO'}"
        error = f" ({_cell(r['error'])})" if r.get("error") else ""
        lines.append(
            f"| {r['path']} | {_status(r)}{error} | {r.get('steps', '-')} | {loss} | {checks} | "
            f"{_cell(r.get('checkpoint', '-'))} | {_num(r.get('seconds'), 1)} |"
        )
    return lines


def speed_table(rows: list[dict]) -> list[str]:
    lines = [
        "| run | batching | tokens/s | model TFLOP/s | MFU | vs plain TRL | max loss diff vs TRL | last loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "tokens_per_s" not in r:
            why = r.get("error") or r.get("note") or r.get("skipped") or r.get("phase")
            lines.append(f"| {r['run']} | {r['batching']} | {_cell(why)} | | | | | |")
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if "mfu" in r else "- (peak unknown)"
        ratio = f"{r['vs_trl']:.2f}x" if "vs_trl" in r else ""
        diff = _num(r.get("max_loss_diff_vs_trl"), 4) if "vs_trl" in r else ""
        lines.append(
            f"| {r['run']} | {r['batching']} | {_num(r['tokens_per_s'])} | {_num(r['model_tflops'], 1)} | {mfu} | "
            f"{ratio} | {diff} | {r['losses'][-1]:.3f} |"
        )
    return lines


def memory_table(rows: list[dict], tolerance: tuple[float, float]) -> list[str]:
    low, high = tolerance
    lines = [
        f"| case | estimate (GB) | measured (GB) | measured / estimate | within {low:.2f}-{high:.2f} |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if "ratio" not in r:
            lines.append(f"| {r['case']} | {_cell(r.get('skipped') or r.get('error'))} | | | |")
            continue
        lines.append(
            f"| {r['case']} | {r['estimate'] / 2**30:.2f} | {r['measured'] / 2**30:.2f} | {r['ratio']:.2f} | "
            f"{'yes' if r['ok'] else 'NO'} |"
        )
    return lines


def chat_table(result: dict) -> list[str]:
    if not result.get("ok"):
        return [f"chat: **FAILED** ({_cell(result.get('error'))})"]
    lines = ["| path | tokens | seconds | tokens/s | first text (s) |", "|---|---|---|---|---|"]
    for path, r in result["paths"].items():
        first = f"{min(r['first_text']):.2f}" if r["first_text"] else "-"
        rate = r["tokens"] / r["seconds"] if r["seconds"] else 0.0
        lines.append(f"| {path} | {r['tokens']} | {r['seconds']:.2f} | {rate:,.1f} | {first} |")
    return lines
