"""`python -m services.devstack {fetch,start,wait,status,stop}` for the local stack.

The Makefile and the test suite drive the stack through this module; `newsflow stack`
is the same thing for people.
"""

from __future__ import annotations

import argparse
import json
import sys

from services.devstack.java import JavaNotFound
from services.devstack.stack import Stack, StackConfig, StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.devstack")
    parser.add_argument("command", choices=["fetch", "start", "wait", "status", "stop"])
    parser.add_argument("--instance", help="stack instance name (default: NEWSFLOW_STACK_INSTANCE or 'dev')")
    parser.add_argument("--json", action="store_true", help="print status as JSON")
    args = parser.parse_args(argv)
    stack = Stack(StackConfig.from_env(args.instance))
    try:
        if args.command == "fetch":
            stack.fetch()
        elif args.command == "start":
            stack.start(wait=True)
        elif args.command == "wait":
            stack.wait()
        elif args.command == "stop":
            stack.stop()
        if args.command in ("status", "start"):
            rows = stack.status()
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                for row in rows:
                    where = row.get("bootstrap") or row.get("url")
                    state = "healthy" if row["healthy"] else ("running" if row["pid"] else "stopped")
                    print(f"{row['component']:<14} {row['version']:<8} {state:<8} {where}  pid={row['pid'] or '-'}")
            if args.command == "status" and not all(r["healthy"] for r in rows):
                return 3
    except (StackError, JavaNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
