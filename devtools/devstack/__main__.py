"""`python -m devtools.devstack COMMAND` for the local stack (`newsflow stack COMMAND` is the same).

    fetch | start | wait | status | stop      the stack as a whole
    env [--role R]                            `export NAME=VALUE` lines of a role (default reader)
    rotate-keys                               new API keys and Kafka passwords for every role
    broker start|stop|kill N                  one Kafka node (fault injection on --brokers 3)

The Makefile and the test suite drive the stack through this module.
"""

from __future__ import annotations

import argparse
import json
import sys

from devtools.devstack.java import JavaNotFound
from devtools.devstack.security import ADMIN_ROLE, SecurityError, render_env
from devtools.devstack.stack import Stack, StackConfig, StackError
from services.ops.access import ROLES

COMMANDS = ("fetch", "start", "wait", "status", "stop", "env", "rotate-keys", "broker")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("args", nargs="*", help="broker: start|stop|kill and the node number (1..3)")
    parser.add_argument("--instance", help="stack instance name (default: NEWSFLOW_STACK_INSTANCE or 'dev')")
    parser.add_argument("--brokers", type=int, choices=(1, 3),
                        help="Kafka nodes (default NEWSFLOW_KAFKA_BROKERS or 1); 3: replication factor 3, min.insync.replicas 2")
    parser.add_argument("--role", default="reader", choices=(*ROLES, ADMIN_ROLE),
                        help="env: whose credentials to print (default reader)")
    parser.add_argument("--json", action="store_true", help="status: print JSON")


def run(args: argparse.Namespace) -> int:
    overrides = {"kafka_brokers": args.brokers} if args.brokers else {}
    try:
        stack = Stack(StackConfig.from_env(args.instance, **overrides))
        if args.command == "fetch":
            stack.fetch()
        elif args.command == "start":
            stack.start(wait=True)
        elif args.command == "wait":
            stack.wait()
        elif args.command == "stop":
            stack.stop()
        elif args.command == "env":
            print(render_env(stack.cfg.env(args.role)))
            return 0
        elif args.command == "rotate-keys":
            for line in stack.rotate_keys():
                print(f"rotated {line}")
            print("the old credentials no longer work; restart the services to pick up the new ones "
                  "(`newsflow stack env --role R` prints them)")
            return 0
        elif args.command == "broker":
            return _broker(stack, args.args)
        if args.command in ("status", "start"):
            rows = stack.status()
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                for row in rows:
                    where = row.get("bootstrap") or row.get("url")
                    state = "healthy" if row["healthy"] else ("running" if row["pid"] else "stopped")
                    print(f"{row['component']:<14} {row['version']:<8} {state:<8} {where}  pid={row['pid'] or '-'}")
                print(f"CA certificate: {stack.cfg.ca_cert}   credentials: newsflow stack env --role reader|operator|...")
            if args.command == "status" and not all(r["healthy"] for r in rows):
                return 3
    except (StackError, JavaNotFound, SecurityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _broker(stack: Stack, argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop", "kill") or not argv[1].isdigit():
        print("usage: broker start|stop|kill N", file=sys.stderr)
        return 2
    action, number = argv[0], int(argv[1])
    if not 1 <= number <= len(stack.kafka.nodes):
        print(f"error: the stack has {len(stack.kafka.nodes)} Kafka node(s); give --brokers 3 for the cluster",
              file=sys.stderr)
        return 2
    node = stack.kafka.node(number)
    if action == "start":
        node.start()
        node.wait()
    elif action == "stop":
        node.stop()
    else:
        node.kill()
    print(f"{node.label}: {'running' if node.running_pid() else 'stopped'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.devstack")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
