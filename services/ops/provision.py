"""`newsflow access show|apply`: the roles of a pipeline on clusters newsflow does not run itself.

    newsflow access show [--namespace NS] [--alias A]
        Kafka ACLs as `kafka-acls.sh` commands and Elasticsearch roles as request bodies,
        for whoever administers the clusters (or their infrastructure code).
    newsflow access apply --passwords DIR [--namespace NS] [--alias A]
        Creates them: for every role with a password file in DIR, its SCRAM user
        (`kafka-<role>.password`) and its Elasticsearch user (`es-<role>.password`);
        the ACLs and Elasticsearch roles of every role. Idempotent (run it again after an
        upgrade, or to set new passwords).

`apply` connects with NEWSFLOW_KAFKA_* and NEWSFLOW_ES_* (with their *_FILE forms): an
administrator of each cluster, one that may change users and ACLs in Kafka (a super
user, or ALTER on the cluster) and `manage_security` in Elasticsearch (for example
`elastic`, once, as Docker Compose does). The services themselves never hold those.

Names: Kafka user `newsflow-<role>` (prefixed `<namespace>.` in a namespace), Elasticsearch
role `newsflow_<role>` and user `newsflow-<role>` (suffixed `_<alias>`/`-<alias>` for an
alias other than `articles`); the roles are services/ops/access.py's.
Exit status: 0 done, 1 a cluster refused (the message says which call), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from services.ops.access import ES_ROLES, KAFKA_ROLES, es_role, kafka_acls, kafka_username


def es_role_name(role: str, alias: str = "articles") -> str:
    return f"newsflow_{role}" if alias == "articles" else f"newsflow_{role}_{alias}"


def es_username(role: str, alias: str = "articles") -> str:
    return f"newsflow-{role}" if alias == "articles" else f"newsflow-{role}-{alias}"


def show(namespace: str, alias: str, bootstrap: str) -> str:
    """Everything `apply` would create, as text an administrator can run or review."""
    lines = [f"# Kafka: ACLs of namespace {namespace or '(none)'} — users are newsflow-<role> "
             f"(SCRAM-SHA-512){f', prefixed {namespace}.' if namespace else ''}"]
    for role in KAFKA_ROLES:
        lines.append(f"\n# {role}: user {kafka_username(role, namespace)}")
        lines.extend(acl.kafka_acls_command(bootstrap) for acl in kafka_acls(role, namespace))
    lines.append(f"\n# Elasticsearch: roles for alias {alias!r} (PUT /_security/role/<name>); one user per role holds it")
    for role in ES_ROLES:
        lines.append(f"PUT /_security/role/{es_role_name(role, alias)}")
        lines.append(json.dumps(es_role(role, alias), sort_keys=True))
    return "\n".join(lines) + "\n"


def _password(folder: Path, name: str) -> str | None:
    path = folder / name
    if not path.exists():
        return None
    from services.common.settings import read_secret_file

    return read_secret_file(path, str(path)).get_secret_value()


async def apply_kafka(namespace: str, folder: Path) -> list[str]:
    """SCRAM users with a password file and every Kafka role's ACLs; what was done, for the log."""
    from aiokafka.admin import AIOKafkaAdminClient

    from services.common.settings import KafkaSettings
    from services.ops.kafka_access import create_acls, upsert_scram_users

    users = {kafka_username(role, namespace): pw for role in KAFKA_ROLES if (pw := _password(folder, f"kafka-{role}.password"))}
    acls = [acl for role in KAFKA_ROLES for acl in kafka_acls(role, namespace)]
    admin = AIOKafkaAdminClient(**KafkaSettings().aiokafka_kwargs(), request_timeout_ms=15000)  # type: ignore[arg-type]
    await admin.start()
    try:
        await create_acls(admin, acls)
        if users:
            await upsert_scram_users(admin, users)
    finally:
        await admin.close()
    return [f"kafka: {len(acls)} ACLs", *(f"kafka: user {u}" for u in users)]


async def apply_elasticsearch(alias: str, folder: Path) -> list[str]:
    """Every Elasticsearch role for `alias`, and a user per role with a password file."""
    from elasticsearch import AsyncElasticsearch

    from services.common.settings import ElasticsearchSettings

    es = AsyncElasticsearch(**ElasticsearchSettings().client_kwargs())  # type: ignore[arg-type]
    done = []
    try:
        for role in ES_ROLES:
            descriptor: dict[str, Any] = es_role(role, alias) or {}
            await es.security.put_role(name=es_role_name(role, alias), cluster=descriptor["cluster"], indices=descriptor["indices"])
            done.append(f"elasticsearch: role {es_role_name(role, alias)}")
            password = _password(folder, f"es-{role}.password")
            if password:
                await es.security.put_user(username=es_username(role, alias), password=password, roles=[es_role_name(role, alias)])
                done.append(f"elasticsearch: user {es_username(role, alias)}")
    finally:
        await es.close()
    return done


def cmd_access(args: argparse.Namespace) -> int:
    if args.action == "show":
        sys.stdout.write(show(args.namespace, args.alias, args.bootstrap))
        return 0
    if not args.passwords:
        print("error: apply needs --passwords DIR (files kafka-<role>.password, es-<role>.password)", file=sys.stderr)
        return 2
    folder = Path(args.passwords)
    try:
        done: list[str] = []
        if not args.skip_kafka:
            done += asyncio.run(apply_kafka(args.namespace, folder))
        if not args.skip_elasticsearch:
            done += asyncio.run(apply_elasticsearch(args.alias, folder))
    except Exception as exc:  # noqa: BLE001 - a refusal or an unreachable cluster: say which, exit 1
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for line in done:
        print(line)
    return 0


def add_access_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register `newsflow access` on the CLI's subparsers."""
    p = subparsers.add_parser("access", help="the roles (Kafka ACLs and users, Elasticsearch roles and users): show or apply",
                              description=__doc__.split("\n\n")[1] if __doc__ else None,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["show", "apply"])
    p.add_argument("--namespace", default="", help="topic namespace of the pipeline (default none)")
    p.add_argument("--alias", default="articles", help="index alias of the pipeline (default articles)")
    p.add_argument("--bootstrap", default="<bootstrap>", help="show: the bootstrap servers to print in the commands")
    p.add_argument("--passwords", metavar="DIR", help="apply: folder of password files (kafka-<role>.password, es-<role>.password)")
    p.add_argument("--skip-kafka", action="store_true", help="apply: Elasticsearch only")
    p.add_argument("--skip-elasticsearch", action="store_true", help="apply: Kafka only")
    p.set_defaults(func=cmd_access)
    return p
