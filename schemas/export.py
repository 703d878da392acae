"""Write the JSON Schema of every event model to schemas/jsonschema/.

    python -m schemas.export          # rewrite the files
    python -m schemas.export --check  # exit 1 when a committed file is out of date

The committed files are what non-Python consumers read; a test runs `--check` so a
model change without a regenerated schema fails the build.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from schemas import EVENT_MODELS

OUT_DIR = Path(__file__).resolve().parent / "jsonschema"


def render() -> dict[str, str]:
    files = {}
    for (event_type, version), model in sorted(EVENT_MODELS.items()):
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"https://newsflow.dev/schemas/{event_type}.v{version}.json"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        files[f"{event_type}.v{version}.json"] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export")
    parser.add_argument("--check", action="store_true", help="fail when committed files differ")
    args = parser.parse_args(argv)
    files = render()
    stale = []
    for name, text in files.items():
        path = OUT_DIR / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            OUT_DIR.mkdir(exist_ok=True)
            path.write_text(text)
    extra = {p.name for p in OUT_DIR.glob("*.json")} - set(files) if OUT_DIR.exists() else set()
    if args.check and (stale or extra):
        print("JSON Schemas are out of date; run `python -m schemas.export`:", ", ".join(sorted(stale + list(extra))))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
