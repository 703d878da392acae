"""The hostile corpus against the parser: slowest page and largest memory (a benchmark, not a test).

    python -m bench.bench_hostile [--rounds 3]

The pages are tests/hostile/pages.py's (bombs, quadratic traps, giant attributes, deep
nesting, broken JSON-LD …), generated, never checked in. Two ways a page is parsed:

1. **The service's way**: the parser's worker pool (`services.parser.pool_entry:prepare_worker`,
   one worker, the service's default time limit). Each uncompressed page is run `rounds`
   times; the median seconds per page, the slowest page, and the worker's peak RSS
   (VmHWM) after the whole corpus, next to a fresh worker's peak after only the plain
   article the hostility is wrapped around (the baseline, same run).
2. **The command line's way**: `newsflow parse --batch DIR --jobs 1` on every page file,
   compressed ones included (.html.gz, .html.br, .html.deflate go through the bounded
   decoders), against the same command on the plain article alone. Wall time and the
   largest resident set of any process of the command (wait4's usage of the command).

Prints a markdown table for the README's reliability section.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


async def _through_the_pool(events: list[tuple[str, bytes]], rounds: int) -> dict[str, Any]:
    from services.common.outcomes import Rejected
    from services.common.workers import WorkError, WorkerPool
    from services.parser.app import ParserSettings

    pool = WorkerPool("parser", "services.parser.pool_entry:prepare_worker", (None,), size=1, time_limit=ParserSettings().time_limit)
    await pool.start()
    try:
        seconds: dict[str, float] = {}
        outcomes: dict[str, str] = {}
        for name, event in events:
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                try:
                    outcome = await pool.run(event)
                    result = outcome.reason if isinstance(outcome, Rejected) else "article"
                except WorkError as exc:  # a timeout or a dead worker: the very thing that must not happen
                    result = type(exc).__name__
                times.append(time.perf_counter() - started)
                if name not in outcomes or result.startswith("Work"):  # a failure in any round is kept
                    outcomes[name] = result
            seconds[name] = statistics.median(times)
        (pid,) = pool.pids
        return {"seconds": seconds, "outcomes": outcomes, "peak_rss_mib": _peak_rss_mib(pid), "replaced": pool.replaced}
    finally:
        pool.close()


def _cli(folder: Path) -> dict[str, Any]:
    """`newsflow parse --batch folder --jobs 1` in a child; wall seconds and its largest process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "services.cli", "parse", "--batch", str(folder), "--jobs", "1"],
                                 cwd=REPO, stdout=out, stderr=err)
        # wait4's usage covers the child and every descendant it waited for: the largest of them.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    reasons = Counter((line["rejected"].split(":", 1)[0] if "rejected" in line else "article") for line in lines)
    return {"wall": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "reasons": reasons,
            "exit": child.returncode, "traceback": "Traceback" in stderr, "files": len(lines)}


def run(rounds: int = 3) -> dict[str, Any]:
    from tests.hostile.pages import PAGES, HostilePage, article_html, write
    from tests.hostile.test_parser_pages import raw_event

    plain = [p for p in PAGES if p.content_encoding is None]
    with tempfile.TemporaryDirectory(prefix="newsflow-hostile-") as tmp:
        hostile_dir, good_dir = Path(tmp) / "hostile", Path(tmp) / "good"
        write(hostile_dir)
        (hostile_dir / "manifest.json").unlink()
        good_dir.mkdir()
        (good_dir / "article.html").write_text(article_html(), encoding="utf-8")
        good_cli = _cli(good_dir)
        hostile_cli = _cli(hostile_dir)

    article = HostilePage("plain-article", "the article without hostility", lambda: article_html().encode(), expect="article")
    baseline = asyncio.run(_through_the_pool([("plain-article", raw_event(article))], rounds))
    hostile = asyncio.run(_through_the_pool([(p.name, raw_event(p)) for p in plain], rounds))

    slowest = sorted(hostile["seconds"].items(), key=lambda kv: kv[1], reverse=True)[:5]
    failures = {n: o for n, o in hostile["outcomes"].items() if o in ("WorkTimedOut", "WorkerCrashed", "WorkFailed", "timeout", "unexpected-error")}
    base_s = baseline["seconds"]["plain-article"]
    rows = [
        "| measure | hostile corpus | plain article (baseline, same run) | ratio |",
        "| --- | --- | --- | --- |",
        f"| parser worker: pages | {len(plain)} uncompressed pages, {rounds} rounds each | 1 page, {rounds} rounds | |",
        f"| parser worker: median seconds per page | {statistics.median(hostile['seconds'].values()):.3f} s | {base_s:.3f} s | "
        f"{statistics.median(hostile['seconds'].values()) / base_s:.1f}× |",
        f"| parser worker: slowest page | {slowest[0][1]:.2f} s (`{slowest[0][0]}`) | {base_s:.3f} s | {slowest[0][1] / base_s:.0f}× |",
        f"| parser worker: peak RSS | {hostile['peak_rss_mib']:.0f} MiB | {baseline['peak_rss_mib']:.0f} MiB | "
        f"{hostile['peak_rss_mib'] / baseline['peak_rss_mib']:.2f}× |",
        f"| parser worker: timeouts, crashes, unexpected errors | {len(failures)} (workers replaced: {hostile['replaced']}) | 0 | |",
        f"| `newsflow parse --batch --jobs 1`: files | {hostile_cli['files']} (compressed ones too) | {good_cli['files']} | |",
        f"| `newsflow parse --batch --jobs 1`: wall time | {hostile_cli['wall']:.1f} s | {good_cli['wall']:.1f} s | |",
        f"| `newsflow parse --batch --jobs 1`: largest process | {hostile_cli['peak_rss_mib']:.0f} MiB | "
        f"{good_cli['peak_rss_mib']:.0f} MiB | |",
        f"| `newsflow parse --batch`: exit code, traceback | {hostile_cli['exit']}, {'yes' if hostile_cli['traceback'] else 'none'} | "
        f"{good_cli['exit']}, {'yes' if good_cli['traceback'] else 'none'} | |",
    ]
    outcomes = Counter(hostile["outcomes"].values())
    markdown = "\n".join([
        f"### Hostile pages (`bench/bench_hostile.py`, {len(PAGES)} pages, {os.cpu_count()} cores)", "",
        *rows, "",
        "Slowest pages through the worker (median of the rounds): "
        + ", ".join(f"`{n}` {s:.2f} s" for n, s in slowest) + ".", "",
        "Outcomes through the worker: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) + ".",
        "Outcomes of the command line: " + ", ".join(f"{k} {v}" for k, v in sorted(hostile_cli["reasons"].items())) + ".",
    ])
    return {"markdown": markdown, "failures": failures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_hostile")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    result = run(rounds=args.rounds)
    print(result["markdown"])
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
