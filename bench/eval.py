"""`make eval`: score the parser and the enrichment against the project's annotated corpora.

    python -m bench.eval              # both
    python -m bench.eval parser       # one of them
    python -m bench.eval --write      # also write bench/results/eval-<name>.{json,md}

Each harness module exposes `evaluate() -> dict` with a "markdown" report and a
"summary" of headline numbers; the README quotes those.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

HARNESSES = {"parser": "bench.eval_parser", "enrichment": "bench.eval_enrichment"}
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval")
    parser.add_argument("which", nargs="*", metavar="NAME", help=f"any of: {', '.join(HARNESSES)} (default: all)")
    parser.add_argument("--write", action="store_true", help="write the reports to bench/results/")
    args = parser.parse_args(argv)
    unknown = [w for w in args.which if w not in HARNESSES]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}; choose from {', '.join(HARNESSES)}")
    for name in args.which or list(HARNESSES):
        module = importlib.import_module(HARNESSES[name])
        report = module.evaluate()
        print(report["markdown"])
        print()
        if args.write:
            RESULTS.mkdir(exist_ok=True)
            meta = {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "python": platform.python_version(), "machine": platform.machine()}
            (RESULTS / f"eval-{name}.json").write_text(json.dumps({**meta, "summary": report["summary"]}, indent=2, ensure_ascii=False) + "\n")
            (RESULTS / f"eval-{name}.md").write_text(report["markdown"] + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
