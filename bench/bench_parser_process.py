"""Parse throughput as whole processes: `newsflow parse --batch` against trafilatura.

`bench/bench_parser.py` times the parse function inside one warm process. What an
operator runs is a process: it starts, imports, reads files, parses, writes results and
exits. Here each contender is a fresh process over the same folder of pages, and we count
the CPU seconds of the whole process tree (the command and every process it starts: the
CLI's worker processes are reaped by the kernel, so `getrusage(RUSAGE_CHILDREN)` would
miss them; each process's own user + system time is read from /proc every 100 ms, and its
last reading kept), and the wall time:

- `newsflow parse --batch DIR --jobs 1`: the CLI, with its one worker process, writing one
  JSON line per page (every field with provenance) to /dev/null;
- `trafilatura.extract(favor_precision=True)` in a plain Python loop over the same files,
  printing the text to /dev/null: the library as the issue measures it, the baseline;
- the `trafilatura` command line, `--precision --parallel 1`, writing text files.

The pages: the parser's development and held-out corpora and the sample site, a mix of
Russian and English pages from many templates, each copied `copies` times under a new
name so start-up is a small share of the run (start-up is reported on its own from a run
over one page). Rounds alternate the contenders; we report medians.

    python -m bench.bench_parser_process [--copies 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.eval_parser import CORPUS, HOLDOUT, load_corpus
from bench.scoring import markdown_table, median

ROOT = Path(__file__).resolve().parents[1]

_TRAFILATURA_LOOP = """
import sys
from pathlib import Path
import trafilatura
out = open(sys.argv[2], "w", encoding="utf-8")
for path in sorted(Path(sys.argv[1]).glob("*.html")):
    text = trafilatura.extract(path.read_bytes(), favor_precision=True, include_comments=False, include_tables=False,
                               deduplicate=False)
    out.write((text or "") + "\\n")
"""


def write_pages(folder: Path, copies: int) -> int:
    """The mixed corpus, `copies` times, as .html files in `folder`; returns the count."""
    from devtools.samplesite.server import SITE_DIR, load_manifest

    pages = [case.html for root in (CORPUS, HOLDOUT) for case in load_corpus(root)]
    pages += [(SITE_DIR / page.file).read_bytes().replace(b"{{BASE_URL}}", b"http://127.0.0.1:8800")
              for page in load_manifest().pages]
    n = 0
    for copy in range(copies):
        for i, html in enumerate(pages):
            (folder / f"{copy:02d}-{i:04d}.html").write_bytes(html)
            n += 1
    return n


def _run(command: list[str]) -> tuple[float, float]:
    """(CPU seconds of the process tree, wall seconds) of one command run to the end.

    Two readings, the larger kept: `getrusage(RUSAGE_CHILDREN)` (exact for the command and
    every process it waited for) and the sum of each process's own time polled from /proc
    every 100 ms (counts the processes reaped by the kernel, such as the CLI's workers, and
    misses at most the last 100 ms of each process; polling more often costs the machine more).
    """
    from devtools.devstack.procinfo import own_cpu_seconds, process_tree

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors,
                                   env={**os.environ, "PYTHONHASHSEED": "0"})
        seen: dict[int, float] = {}
        while process.poll() is None:
            for pid in process_tree(process.pid):
                value = own_cpu_seconds(pid)
                if value is not None:
                    seen[pid] = max(seen.get(pid, 0.0), value)
            time.sleep(0.1)
        wall = time.perf_counter() - started
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{command[:4]} exited {process.returncode}: {errors.read().decode(errors='replace')[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return max(waited, sum(seen.values())), wall


def contenders(folder: Path, scratch: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "newsflow parse --batch --jobs 1 (all fields + provenance, JSON lines)":
            [python, "-m", "services.cli", "parse", "--batch", str(folder), "--jobs", "1", "--no-progress"],
        "trafilatura.extract(favor_precision) in a Python loop (body text only)":
            [python, "-c", _TRAFILATURA_LOOP, str(folder), os.devnull],
        "trafilatura command line --precision --parallel 1 (body text only)":
            [str(Path(python).with_name("trafilatura")), "--input-dir", str(folder), "--output-dir", str(scratch),
             "--precision", "--parallel", "1"],
    }


def run(copies: int = 6, rounds: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-parser-process-") as tmp:
        folder, one, scratch = Path(tmp) / "pages", Path(tmp) / "one", Path(tmp) / "out"
        folder.mkdir()
        one.mkdir()
        count = write_pages(folder, copies)
        shutil.copy(sorted(folder.glob("*.html"))[0], one / "page.html")
        named = contenders(folder, scratch)
        startup_commands = contenders(one, scratch)
        cpu: dict[str, list[float]] = {name: [] for name in named}
        wall: dict[str, list[float]] = {name: [] for name in named}
        startup: dict[str, list[float]] = {name: [] for name in named}
        for _ in range(rounds):
            for name, command in named.items():
                shutil.rmtree(scratch, ignore_errors=True)
                scratch.mkdir()
                c, w = _run(command)
                cpu[name].append(c)
                wall[name].append(w)
                shutil.rmtree(scratch, ignore_errors=True)
                scratch.mkdir()
                startup[name].append(_run(startup_commands[name])[0])
    base_name = next(name for name in named if "Python loop" in name)
    base = count / median(cpu[base_name])
    rows = []
    results = {}
    for name in named:
        per_cpu = count / median(cpu[name])
        results[name] = per_cpu
        rows.append([name, round(per_cpu, 1), round(count / median(wall[name]), 1), round(median(startup[name]), 2),
                     round(per_cpu / base, 2)])
    table = markdown_table(
        ["contender (whole process)", "pages per CPU second (median)", "pages per wall second (median)",
         "start-up CPU s (one page)", "× trafilatura favor_precision loop"], rows)
    return {"pages": count, "rounds": rounds, "pages_per_cpu_second": results,
            "markdown": f"Whole processes over {count} pages ({copies} copies of the mixed corpus), {rounds} rounds, "
                        f"alternating:\n\n{table}"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_parser_process")
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(run(args.copies, args.rounds)["markdown"])


if __name__ == "__main__":
    main()
