"""Time from ``python app.py`` to the page answering, this tree against an earlier revision, in one run.

    .venv/bin/python bench/bench_page_up.py --before REV [--rounds 8]

Each round launches the app of each tree once (the order alternates round by round: AB BA AB ...), on
loopback, its data in a fresh folder, the offline model preselected and the warm worker on, as a person's
``python app.py`` runs; the figure is the seconds until ``/`` answers 200 (tests/app_server.py
``wait_until_up``). Between launches the bench waits ``--pause`` seconds, so that the last app's standby
worker, which leaves once its app is gone, is not still importing torch on the 2 cores. Prints each launch,
the medians and their ratio; state the load average.

The earlier revision's files come from ``git archive REV`` of this repository (this venv).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.revision import revision_tree  # noqa: E402
from tests.app_server import AppServer  # noqa: E402


def page_up(tree: Path, folder: Path) -> float:
    """Seconds from launching ``tree``'s app.py to its page answering."""
    folder.mkdir(parents=True)
    server = AppServer(folder / "data", folder / "server.log", {"SFT_COACH_TINY_MODEL": "0"}, root=tree)
    try:
        return server.wait_until_up(120)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", required=True, help="the revision to compare with")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--pause", type=float, default=12.0, help="seconds between launches")
    args = parser.parse_args()
    print(f"# Page up, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="sft-coach-bench-", ignore_cleanup_errors=True) as tmp:
        folder = Path(tmp)
        before = revision_tree(args.before, folder / "before-tree")
        trees = {f"at {args.before}": before, "this tree": ROOT}
        seconds: dict[str, list[float]] = {label: [] for label in trees}
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for label in order:
                figure = page_up(trees[label], folder / f"{round_}-{label.replace(' ', '-')}")
                seconds[label].append(round(figure, 2))
                print(f"round {round_ + 1}, {label}: {figure:.2f} s", flush=True)
                time.sleep(args.pause)
    print(f"(load average at the end: {os.getloadavg()})")
    medians = {label: statistics.median(values) for label, values in seconds.items()}
    for label, values in seconds.items():
        print(f"{label}: median {medians[label]:.2f} s, {min(values):.2f}-{max(values):.2f} s over {len(values)}")
    old, new = medians[f"at {args.before}"], medians["this tree"]
    print(f"page up: {old:.2f} s before, {new:.2f} s now ({old / new:.2f}x)")


if __name__ == "__main__":
    main()
